"""What batching buys an LLM operator: one generation of 70 children on a local transformers model.

    python benchmarks/llm_batching.py [--children 70] [--k 5] [--max-new-tokens 48]

On a tiny random GPT-2 (built here, no download) with the hf backend, it
times the model calls that make one generation's children three ways, side
by side in one run:

* batched, k children per prompt: ceil(70 / k) prompts in one ``generate`` call, k samples each;
* batched, 1 child per prompt: 70 prompts in one call;
* one call per child: 70 calls of one prompt (what an LLM-GA that asks per child does);

then runs a few generations of ``llmga.optimize`` with the LLM operators and
reports the engine's time per generation excluding model time.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import pandas as pd

import llmga
from llmga.backends import GenerationParams, Prompt
from llmga.backends.hf import HFBackend
from llmga.data import zinc250k
from llmga.testing import save_tiny_gpt2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=70)
    parser.add_argument("--k", type=int, default=5, help="children per prompt in the batched mode")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = save_tiny_gpt2(Path(tmp) / "gpt2")
        backend = HFBackend(str(model_dir), device="cpu")
        parents = zinc250k()[: args.children]
        n_prompts = math.ceil(args.children / args.k)

        def timed(prompts: list[Prompt], n: int, calls: int) -> float:
            params = GenerationParams(n=n, max_new_tokens=args.max_new_tokens, seed=0)
            start = time.perf_counter()
            for i in range(calls):
                batch = prompts if calls == 1 else prompts[i : i + 1]
                backend.generate(batch, params)
            return time.perf_counter() - start

        backend.generate([Prompt.chat(parents[0] + ">>")], GenerationParams(n=1, max_new_tokens=4))  # warm-up
        batched_k = timed([Prompt.chat(p + ">>") for p in parents[:n_prompts]], args.k, 1)
        batched_1 = timed([Prompt.chat(p + ">>") for p in parents], 1, 1)
        per_child = timed([Prompt.chat(p + ">>") for p in parents], 1, len(parents))

        print(f"one generation of {args.children} children, tiny GPT-2 on the CPU, {args.max_new_tokens} new tokens:")
        print(f"  one call per child ({args.children} calls)          {per_child:7.2f} s")
        print(
            f"  one batched call, 1 child per prompt         {batched_1:7.2f} s   {per_child / batched_1:5.1f}x faster"
        )
        print(
            f"  one batched call, {args.k} children per prompt    {batched_k:7.2f} s   "
            f"{per_child / batched_k:5.1f}x faster ({n_prompts} prompts)"
        )

        out = Path(tmp) / "run"
        start = time.perf_counter()
        result = llmga.optimize(
            "qed",
            budget=120 + 3 * args.children,
            max_generations=3,
            llm=f"hf:{model_dir}",
            llm_share=1.0,
            prompt_style="plain",
            children_per_call=args.k,
            max_new_tokens=args.max_new_tokens,
            out=str(out),
            workers=1,
        )
        wall = time.perf_counter() - start
        calls = pd.read_csv(out / "llm_calls.csv")
        model_s = float(calls["latency_s"].sum())
        generations = int(result.summary["generations"])
        engine_s = float(result.summary["elapsed_s"]) - model_s  # the run itself, without loading the model
        print(
            f"llmga.optimize, {generations} generations with LLM operators only: {wall:.2f} s with model loading; "
            f"model {model_s:.2f} s; engine, parsing, fallbacks {engine_s / max(generations, 1):.3f} s per generation"
        )


if __name__ == "__main__":
    main()
