#!/usr/bin/env python3
"""Run the course notebooks headless with the Rust (evcxr) kernel and fail on any error.

    python3 notebooks/check.py                    # every notebook, in order
    python3 notebooks/check.py notebooks/00_setup_and_tensors.ipynb
    python3 notebooks/check.py --html target/notebooks-html   # also write executed HTML copies
    python3 notebooks/check.py --clean-only       # only check that committed notebooks have no outputs
    python3 notebooks/check.py --strip FILE...    # remove outputs (before committing)
    python3 notebooks/check.py --warm-up          # first build the kit for evcxr (not timed)
    python3 notebooks/check.py --kernel-env       # write KERNEL_ENV into the Rust kernel's spec (setup.sh does)

Every kernel it starts shares one evcxr build folder (EVCXR_TMPDIR, see `evcxr_dir`), so the kit
is built once, by the warm-up, and not again by each notebook.

A notebook passes when
  - its committed form carries no outputs and no execution counts (clean diffs),
  - every cell runs, top to bottom, in a fresh kernel, without an error output, a panic or a
    compile error (nbclient stops at the first failing cell and the checker prints it) --
    except cells tagged `raises-exception`, which must fail, with the text in their metadata
    `selfsup.expect` in the error (how a notebook shows a compile-time shape error),
  - it stays within its time budget (--budget seconds, 600 by default), and
  - it shows at least one image when it is marked to (notebook metadata `selfsup.images`,
    the number of image outputs it must produce at least).
"""

import argparse
import base64
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
KERNEL = "rust"  # the kernel spec that `evcxr_jupyter --install` installs

# evcxr 0.22 builds every cell, and the kit and dfdx under it, with `debug-assertions` and
# `overflow-checks` on in the `[profile.dev]` it writes, whatever `:opt` says. Cargo lets these
# environment variables override that profile. Measured with this checker on two cores
# (2026-12-03, same code, builds running beside it): notebook 02 took 142 s with them against
# 287 s without (alone on the machine, 2026-12-03), and the two trap notebooks 21 + 31 s
# against 88 + 107 s. The kit's own tests run in release, without these checks, too.
# setup.sh writes them into the kernel's spec (`--kernel-env`), so Jupyter gets them as well.
KERNEL_ENV = {
    "CARGO_PROFILE_DEV_DEBUG_ASSERTIONS": "false",
    "CARGO_PROFILE_DEV_OVERFLOW_CHECKS": "false",
}


def evcxr_dir():
    """The evcxr build folder shared by every kernel this checker starts: `EVCXR_TMPDIR` if
    set, else `selfsup-evcxr-<checkout>` in the system's temporary folder.

    Without it each evcxr kernel builds in a fresh temporary folder that it deletes on exit,
    and `:cache` does not keep the kit (a local path crate): every notebook rebuilt the kit.
    This checker's own timings on an idle two-core machine: notebook 00 took 320 s rebuilding
    the kit (2026-11-30) and 109 s with the shared folder, after a 205 s warm-up (2026-12-01);
    run it with `EVCXR_TMPDIR` pointing to a fresh folder per notebook to see the old cost. Where the folder lives matters twice: not under the
    repository (evcxr's project would sit inside the kit's cargo workspace, which cargo
    refuses), and as shallow as evcxr's own default (rustc writes the path to Rust's standard
    library into each cell's library relative to `target/.../deps/`, one level below the copy
    that evcxr loads; at the depth of ~/.cache/... that path missed and loading failed)."""
    if os.environ.get("EVCXR_TMPDIR"):
        return Path(os.environ["EVCXR_TMPDIR"])
    checkout = hashlib.sha256(str(HERE.parent).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"selfsup-evcxr-{checkout}"


def default_notebooks():
    """The course notebooks in order, then the tests of the notebook setup."""
    return sorted(HERE.glob("[0-9]*.ipynb")) + sorted((HERE / "tests").glob("*.ipynb"))


def write_kernel_env():
    """Adds KERNEL_ENV to the `env` of the Rust kernel's spec (its kernel.json, which
    `evcxr_jupyter --install` wrote), so that every kernel Jupyter starts builds without
    debug assertions and overflow checks. Keeps any other variable already there."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec_dir = Path(KernelSpecManager().get_kernel_spec(KERNEL).resource_dir)
    path = spec_dir / "kernel.json"
    spec = json.loads(path.read_text())
    env = spec.get("env", {})
    if all(env.get(k) == v for k, v in KERNEL_ENV.items()):
        print(f"{path}: already has {sorted(KERNEL_ENV)}")
        return
    spec["env"] = {**env, **KERNEL_ENV}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(spec, indent=2) + "\n")
    tmp.replace(path)
    print(f"{path}: env {sorted(KERNEL_ENV)} set (cells build without debug assertions and overflow checks)")


def dirty_cells(nb):
    """Indices of code cells that carry outputs or an execution count."""
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None)]


def strip(path):
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs = []
            c.execution_count = None
            c.metadata.pop("execution", None)
    nbformat.write(nb, path)
    print(f"stripped {path}")


def expects_error(cell):
    """A cell tagged `raises-exception` shows an error on purpose (e.g. a shape mismatch that
    the compiler must catch); its metadata `selfsup.expect` is text the error must contain."""
    return "raises-exception" in cell.metadata.get("tags", [])


def error_text(cell):
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "error":
            parts.append(f"{out.get('ename', '')}: {out.get('evalue', '')}\n" + "\n".join(out.get("traceback", [])))
        elif out.output_type == "stream" and out.name == "stderr":
            parts.append(out.text)
    return "\n".join(parts)


def problems_in_outputs(nb):
    """Error outputs, panics and compile errors anywhere in an executed notebook, and cells
    that should have shown an error but did not."""
    found = []
    for i, c in enumerate(nb.cells):
        if c.cell_type != "code":
            continue
        if expects_error(c):
            text = error_text(c)
            want = c.metadata.get("selfsup", {}).get("expect", "")
            if not any(o.output_type == "error" for o in c.get("outputs", [])):
                found.append(f"cell {i}: should fail (tagged raises-exception) but ran without an error")
            elif want not in text:
                found.append(f"cell {i}: its error does not mention {want!r}:\n{text[:2000]}")
            continue
        for out in c.get("outputs", []):
            if out.output_type == "error":
                found.append(f"cell {i}: {out.get('ename', '')}: {out.get('evalue', '')}")
            elif out.output_type == "stream" and out.name == "stderr":
                text = out.text
                if "panicked" in text or "error:" in text.lower() or "error[" in text:
                    found.append(f"cell {i}: stderr: {text.strip()[:2000]}")
    return found


def count_images(nb):
    n = 0
    for c in nb.cells:
        for out in c.get("outputs", []) if c.cell_type == "code" else []:
            data = out.get("data", {})
            if "image/png" in data:
                base64.b64decode(data["image/png"], validate=False)  # must decode
                n += 1
    return n


def warm_up(cell_timeout):
    """Builds the kit once for evcxr, both ways the notebooks load it (the shared library
    `notebooks/kit` of the course notebooks, the plain crate of the trap test), so that the
    one-time build is not counted in any notebook's budget; the shared evcxr folder
    (`evcxr_dir`) keeps the builds for the notebooks."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    # The trap test differentiates a 4×2 layer: it loads the plain crate unoptimised (`:opt 0`),
    # which builds in a fraction of the time of a second optimised build of the library.
    for opt, dep in (("2", 'path = "kit", package = "selfsup-kit"'), ("0", 'path = ".."')):
        nb = new_notebook(cells=[new_code_cell(f":opt {opt}\n:cache 4096\n:dep selfsup = {{ {dep} }}"),
                                 new_code_cell("selfsup::plot::Figure::from_rgb(1, 1, vec![0; 3]).unwrap().width")])
        nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Rust", "language": "rust"}
        path = HERE / ".warm-up.ipynb"
        nbformat.write(nb, path)
        try:
            print(f"warming up ({dep}): building the kit for evcxr ...", flush=True)
            # The one-time build is not a cell of the course: on a loaded two-core machine it
            # took 16 minutes (2026-11-30), past the 15-minute cell limit, so it gets an hour.
            seconds, _, problems = run(path, None, float("inf"), max(cell_timeout, 3600))
        finally:
            path.unlink()
        print(f"  {seconds:.0f} s", flush=True)
        if problems:
            sys.exit("warm-up failed:\n" + "\n".join(problems))


def run(path, html_dir, budget, cell_timeout):
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    started = time.monotonic()
    client = NotebookClient(
        nb,
        kernel_name=KERNEL,
        timeout=cell_timeout,
        resources={"metadata": {"path": str(path.parent)}},
        allow_errors=False,
    )
    failure = None
    try:
        client.execute()
    except CellExecutionError as e:
        failure = str(e)
    except Exception as e:  # kernel died, timeout, ...
        failure = f"{type(e).__name__}: {e}"
    seconds = time.monotonic() - started
    problems = [failure] if failure else []
    problems += problems_in_outputs(nb)
    want_images = nb.metadata.get("selfsup", {}).get("images", 0)
    images = count_images(nb)
    if images < want_images:
        problems.append(f"{images} image outputs, the notebook's metadata asks for at least {want_images}")
    if seconds > budget:
        problems.append(f"took {seconds:.0f} s, over the {budget:.0f} s budget")
    if html_dir:
        from nbconvert import HTMLExporter

        html_dir.mkdir(parents=True, exist_ok=True)
        body, _ = HTMLExporter().from_notebook_node(nb)
        out = html_dir / (path.stem + ".html")
        out.write_text(body, encoding="utf-8")
        nbformat.write(nb, html_dir / path.name)
        print(f"  wrote {out}")
    return seconds, images, problems


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="*", type=Path)
    ap.add_argument("--html", type=Path, help="folder for executed .html and .ipynb copies")
    ap.add_argument("--budget", type=float, default=600, help="seconds a notebook may take (default 600)")
    ap.add_argument("--cell-timeout", type=int, default=900, help="seconds a cell may take (default 900)")
    ap.add_argument("--clean-only", action="store_true", help="only check that notebooks carry no outputs")
    ap.add_argument("--strip", action="store_true", help="remove outputs from the given notebooks")
    ap.add_argument("--warm-up", action="store_true", help="build the kit for evcxr first (not timed)")
    ap.add_argument("--kernel-env", action="store_true", help="write KERNEL_ENV into the Rust kernel's spec, then stop")
    args = ap.parse_args()
    if args.kernel_env:
        write_kernel_env()
        return
    paths = [p.resolve() for p in args.notebooks] or default_notebooks()
    if not paths:
        sys.exit(f"no notebooks found in {HERE}")
    if args.strip:
        for p in paths:
            strip(p)
        return

    import nbformat

    failed = False
    for p in paths:
        dirty = dirty_cells(nbformat.read(p, as_version=4))
        if dirty:
            failed = True
            print(f"FAIL {p.name}: cells {dirty} carry outputs; run `python3 notebooks/check.py --strip {p}`")
    if args.clean_only or failed:
        sys.exit(1 if failed else 0)

    shared = evcxr_dir()
    shared.mkdir(parents=True, exist_ok=True)
    os.environ["EVCXR_TMPDIR"] = str(shared)  # inherited by every kernel started below
    os.environ.update(KERNEL_ENV)  # as a kernel started from setup.sh's spec gets them
    print(f"evcxr builds in {shared}", flush=True)
    if args.warm_up:
        warm_up(args.cell_timeout)
    report = []
    for p in paths:
        print(f"running {p.relative_to(HERE.parent)} ...", flush=True)
        seconds, images, problems = run(p, args.html, args.budget, args.cell_timeout)
        status = "FAIL" if problems else "ok"
        report.append(f"{status:4} {p.name}: {seconds:.0f} s, {images} images")
        print(f"  {report[-1]}", flush=True)
        for pr in problems:
            print(f"  - {pr}")
        failed |= bool(problems)
    print("\n".join(["", "notebooks:"] + report))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
