"""``relvec push FOLDER --repo-id USER/NAME``: upload a saved folder (model, hybrid, classifier) to the hub."""

from __future__ import annotations

import argparse
import sys

from relvec.hub import DEFAULT_TIMEOUT, has_card, push_to_hub


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("push", parents=[common], help="upload a saved folder to the Hugging Face hub")
    parser.add_argument("folder", help="a folder saved by relvec")
    parser.add_argument("--repo-id", required=True, help="USER/NAME on the hub")
    parser.add_argument("--private", action="store_true", help="create the repository private")
    parser.add_argument(
        "--token",
        default=None,
        help="hub token; prefer HF_TOKEN or `hf auth login`, since a flag shows in the process list "
        "(default: HF_TOKEN or the saved login)",
    )
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds to wait for each hub call")
    parser.add_argument("--message", default="Upload relvec model", help="commit message")
    parser.set_defaults(handler=cmd_push)


def cmd_push(args: argparse.Namespace) -> int:
    if not has_card(args.folder):
        print(f"relvec: note: {args.folder} has no README.md model card", file=sys.stderr)
    if args.token:
        print("relvec: note: --token shows in the process list; prefer HF_TOKEN or `hf auth login`", file=sys.stderr)
    url = push_to_hub(
        args.folder,
        args.repo_id,
        private=args.private,
        token=args.token,
        commit_message=args.message,
        timeout=args.timeout,
    )
    print(url)
    return 0
