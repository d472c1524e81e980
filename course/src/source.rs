//! Reading an exercise's reference out of the library and turning it into a solution or a stub.
//!
//! Markers (comment lines, matched after trimming):
//!
//! ```text
//! // ANCHOR: <exercise>       … // ANCHOR_END: <exercise>   the code copied into the exercise
//! // BEGIN SOLUTION           … // END SOLUTION             what the stub replaces by todo!()
//! // HINT: <text>                                           inside a solution region: kept in the stub
//! ```
//!
//! An exercise may have several anchored regions, in one file or several; they are joined in
//! order. Marker lines of other anchors are dropped. `crate::` paths become `selfsup::`.

use std::fmt::Write;

/// The anchored code of `exercise` in `text` (the content of `file`), markers of other
/// anchors removed. Errors name the file: no anchor, an unclosed one, unbalanced regions.
pub fn extract(text: &str, file: &str, exercise: &str) -> Result<String, String> {
    let (open, close) = (format!("// ANCHOR: {exercise}"), format!("// ANCHOR_END: {exercise}"));
    let mut out: Vec<&str> = Vec::new();
    let mut inside = false;
    let mut found = false;
    for (number, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed == open {
            if inside {
                return Err(format!("{file}:{}: `{open}` inside an open anchor of the same name", number + 1));
            }
            if found {
                out.push("");
            }
            inside = true;
            found = true;
        } else if trimmed == close {
            if !inside {
                return Err(format!("{file}:{}: `{close}` without a matching `{open}`", number + 1));
            }
            inside = false;
        } else if inside && !(trimmed.starts_with("// ANCHOR: ") || trimmed.starts_with("// ANCHOR_END: ")) {
            out.push(line);
        }
    }
    if inside {
        return Err(format!("{file}: `{open}` is never closed by `{close}`"));
    }
    if !found {
        return Err(format!("{file}: no `{open}` … `{close}` region"));
    }
    let code = out.join("\n").replace("crate::", "selfsup::");
    if code.contains("super::") {
        return Err(format!("{file}: the `{exercise}` anchor uses a `super::` path; write it as `crate::` so it can be rewritten to `selfsup::`"));
    }
    check_regions(&code, file, exercise)?;
    Ok(code)
}

fn is_begin(line: &str) -> bool {
    line.trim() == "// BEGIN SOLUTION"
}

fn is_end(line: &str) -> bool {
    line.trim() == "// END SOLUTION"
}

/// Every `BEGIN SOLUTION` is closed before the next one opens and at least one exists.
fn check_regions(code: &str, file: &str, exercise: &str) -> Result<(), String> {
    let mut open = false;
    let mut regions = 0;
    for line in code.lines() {
        if is_begin(line) {
            if open {
                return Err(format!("{file} ({exercise}): nested `// BEGIN SOLUTION`"));
            }
            open = true;
        } else if is_end(line) {
            if !open {
                return Err(format!("{file} ({exercise}): `// END SOLUTION` without `// BEGIN SOLUTION`"));
            }
            open = false;
            regions += 1;
        }
    }
    match (open, regions) {
        (true, _) => Err(format!("{file} ({exercise}): `// BEGIN SOLUTION` is never closed")),
        (_, 0) => Err(format!("{file} ({exercise}): the anchor has no `// BEGIN SOLUTION` region, so the stub would be the solution")),
        _ => Ok(()),
    }
}

/// The solution: the code with the region marker lines removed (hints stay as comments).
pub fn solution(code: &str) -> String {
    let kept: Vec<&str> = code.lines().filter(|l| !is_begin(l) && !is_end(l)).collect();
    kept.join("\n")
}

/// The stub: each region replaced by its `// HINT:` lines and `todo!("implement `f` …")`,
/// where `f` is the function the region sits in, at the indentation of the marker.
pub fn stub(code: &str) -> String {
    stub_with(code, |f| format!("implement `{f}` (see README.md)"))
}

/// [`stub`] with the `todo!` message of a region in function `f` given by `message(f)`.
pub fn stub_with(code: &str, message: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    let mut current_fn = String::from("this part");
    let mut in_region = false;
    for line in code.lines() {
        if is_begin(line) {
            in_region = true;
            continue;
        }
        if is_end(line) {
            in_region = false;
            let indent = &line[..line.len() - line.trim_start().len()];
            let _ = writeln!(out, "{indent}todo!({:?})", message(&current_fn));
            continue;
        }
        if in_region {
            if line.trim_start().starts_with("// HINT:") {
                out.push_str(line);
                out.push('\n');
            }
            continue;
        }
        if let Some(name) = fn_name(line) {
            current_fn = name;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_end_matches('\n').to_string()
}

/// The whole library file `text` (`file` names it in errors) with every solution region of
/// `exercise`'s anchors replaced as in [`stub_with`]; the anchor markers, the rest of the file
/// and other exercises' regions are kept. Errors as [`extract`], or if the file has no such
/// anchor.
pub fn remove_solutions(text: &str, file: &str, exercise: &str, message: impl Fn(&str) -> String) -> Result<String, String> {
    extract(text, file, exercise)?; // the same checks: balanced anchors and regions
    let (open, close) = (format!("// ANCHOR: {exercise}"), format!("// ANCHOR_END: {exercise}"));
    let mut out = String::new();
    let mut anchored: Vec<&str> = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed == open {
            inside = true;
        } else if trimmed == close {
            inside = false;
            out.push_str(&stub_with(&anchored.join("\n"), &message));
            out.push('\n');
            anchored.clear();
        } else if inside {
            anchored.push(line);
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    Ok(out)
}

/// The name of the function a line declares, if it declares one.
fn fn_name(line: &str) -> Option<String> {
    let code = line.split("//").next()?;
    let rest = code.split_once("fn ")?.1;
    let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    (!name.is_empty() && (code.starts_with("fn ") || code.contains(" fn "))).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "use x;\n// ANCHOR: ex\n/// Doc.\npub fn f(a: u32) -> u32 {\n    assert!(a > 0);\n    // BEGIN SOLUTION\n    // HINT: double it\n    a * 2\n    // END SOLUTION\n}\n// ANCHOR_END: ex\nfn other() {}\n";

    #[test]
    fn extracts_the_anchor_and_makes_solution_and_stub() {
        let code = extract(FILE, "f.rs", "ex").unwrap();
        assert!(!code.contains("use x") && !code.contains("other"));
        let sol = solution(&code);
        assert!(sol.contains("    a * 2") && sol.contains("// HINT: double it") && !sol.contains("BEGIN"));
        let st = stub(&code);
        assert!(st.contains("    // HINT: double it\n    todo!(\"implement `f` (see README.md)\")"), "{st}");
        assert!(!st.contains("a * 2") && st.contains("assert!(a > 0)"));
    }

    #[test]
    fn remove_solutions_keeps_the_rest_of_the_file() {
        let text = format!("{FILE}// ANCHOR: other\nfn g() {{\n    // BEGIN SOLUTION\n    1\n    // END SOLUTION\n}}\n// ANCHOR_END: other\n");
        let cut = remove_solutions(&text, "f.rs", "ex", |f| format!("no `{f}` here")).unwrap();
        assert!(cut.starts_with("use x;\n// ANCHOR: ex\n") && cut.contains("fn other() {}"), "{cut}");
        assert!(cut.contains("    todo!(\"no `f` here\")\n}\n// ANCHOR_END: ex\n") && !cut.contains("a * 2"), "{cut}");
        // Another exercise's region stays solved.
        assert!(cut.contains("    // BEGIN SOLUTION\n    1\n"), "{cut}");
        assert!(remove_solutions("fn f() {}\n", "g.rs", "ex", |f| f.to_string()).unwrap_err().contains("g.rs"));
    }

    #[test]
    fn errors_name_the_file() {
        assert!(extract(FILE, "f.rs", "missing").unwrap_err().contains("f.rs"));
        let unclosed = "// ANCHOR: ex\nfn f() {}\n";
        assert!(extract(unclosed, "g.rs", "ex").unwrap_err().contains("never closed"));
        let no_region = "// ANCHOR: ex\nfn f() {}\n// ANCHOR_END: ex\n";
        assert!(extract(no_region, "g.rs", "ex").unwrap_err().contains("no `// BEGIN SOLUTION`"));
    }
}
