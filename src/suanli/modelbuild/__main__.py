"""``python -m suanli.modelbuild --out-dir DIR [--root REPO]``: build (or find) the tiny model
and print its path; ``--json`` prints the path, the link, the recipe hash and whether it was
built now."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from suanli.modelbuild.recipe import Recipe
from suanli.modelbuild.tiny_llama import build


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m suanli.modelbuild")
    parser.add_argument("--out-dir", type=Path, required=True)
    parser.add_argument(
        "--root",
        type=Path,
        default=Path(__file__).resolve().parents[3],
        help="the repository whose documentation trains the tokenizer",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    built = build(Recipe(), args.root.resolve(), args.out_dir)
    if args.json:
        line = {
            "path": str(built.path),
            "link": str(built.link),
            "digest": built.digest,
            "fresh": built.fresh,
        }
        sys.stdout.write(json.dumps(line) + "\n")
    else:
        sys.stdout.write(f"{built.link}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
