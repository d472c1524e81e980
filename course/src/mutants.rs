//! Mutants: deliberately wrong solutions a student might write, each a text edit of the
//! generated solution's `src/lib.rs`, listed in `course/spec/<exercise>/mutants.txt`:
//!
//! ```text
//! === forgot_temperature: the logits are not divided by τ
//! --- find
//!     (l_pos, l_neg).concat_along(Axis::<1>) / tau
//! +++ replace
//!     (l_pos, l_neg).concat_along(Axis::<1>)
//! ```
//!
//! The `find` text must occur exactly once, so a mutant cannot silently stop applying when
//! the reference changes.

/// One mutant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mutant {
    pub name: String,
    pub description: String,
    pub find: String,
    pub replace: String,
}

/// Parses a `mutants.txt` (`file` names it in errors).
pub fn parse(text: &str, file: &str) -> Result<Vec<Mutant>, String> {
    let mut mutants: Vec<Mutant> = Vec::new();
    // 0: before a header, 1: in find, 2: in replace.
    let mut state = 0;
    let (mut find, mut replace): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    let flush = |mutants: &mut Vec<Mutant>, find: &mut Vec<&str>, replace: &mut Vec<&str>| {
        if let Some(m) = mutants.last_mut() {
            m.find = find.join("\n");
            m.replace = replace.join("\n");
        }
        find.clear();
        replace.clear();
    };
    for (number, line) in text.lines().enumerate() {
        if let Some(header) = line.strip_prefix("=== ") {
            if !mutants.is_empty() && state != 2 {
                return Err(format!("{file}:{}: the previous mutant has no `+++ replace` part", number + 1));
            }
            flush(&mut mutants, &mut find, &mut replace);
            let (name, description) = header.split_once(':').ok_or_else(|| format!("{file}:{}: expected `=== name: description`", number + 1))?;
            mutants.push(Mutant { name: name.trim().to_string(), description: description.trim().to_string(), find: String::new(), replace: String::new() });
            state = 0;
        } else if line == "--- find" && !mutants.is_empty() && state == 0 {
            state = 1;
        } else if line == "+++ replace" && state == 1 {
            state = 2;
        } else if state == 1 {
            find.push(line);
        } else if state == 2 {
            replace.push(line);
        } else if !line.trim().is_empty() && !line.starts_with('#') {
            return Err(format!("{file}:{}: unexpected line outside a mutant: {line}", number + 1));
        }
    }
    if !mutants.is_empty() && state != 2 {
        return Err(format!("{file}: the last mutant has no `+++ replace` part"));
    }
    flush(&mut mutants, &mut find, &mut replace);
    for m in &mutants {
        // Trailing blank lines separate mutants; they are not part of the edit.
        if m.find.trim().is_empty() {
            return Err(format!("{file}: mutant `{}` has an empty `find`", m.name));
        }
    }
    Ok(mutants
        .into_iter()
        .map(|m| Mutant { find: m.find.trim_end_matches('\n').to_string(), replace: m.replace.trim_end_matches('\n').to_string(), ..m })
        .collect())
}

/// `solution` with the mutant's edit applied; an error unless `find` occurs exactly once.
pub fn apply(solution: &str, m: &Mutant) -> Result<String, String> {
    match solution.matches(&m.find).count() {
        1 => Ok(solution.replacen(&m.find, &m.replace, 1)),
        n => Err(format!("mutant `{}`: its `find` text occurs {n} times in the solution (exactly once expected):\n{}", m.name, m.find)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_applies() {
        let text = "# comment\n=== a: first\n--- find\nx + y\n+++ replace\nx - y\n\n=== b: second\n--- find\nz\n+++ replace\n";
        let ms = parse(text, "m.txt").unwrap();
        assert_eq!(ms.len(), 2);
        assert_eq!((ms[0].find.as_str(), ms[0].replace.as_str()), ("x + y", "x - y"));
        assert_eq!(apply("let s = x + y;", &ms[0]).unwrap(), "let s = x - y;");
        assert!(apply("x + y; x + y", &ms[0]).is_err());
        assert!(parse("=== a: b\n--- find\nx\n", "m.txt").unwrap_err().contains("replace"));
    }
}
