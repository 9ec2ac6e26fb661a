"""S4's Python peer: PyPI jieba (`jieba.lcut(text, HMM=True)`, the same mode as
jieba-rs `cut(text, true)`) over the "text" fields of a JSONL file, the same
texts `kefu bench nlu --data FILE` segments. Prints one JSON object with the
median MB/s (UTF-8 bytes) over the passes.

usage: python3 bench/peers/jieba_py.py FILE.jsonl [passes]
Not part of CI; needs `pip install jieba`.
"""
import json
import statistics
import sys
import time

import jieba


def main():
    path = sys.argv[1]
    passes = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    texts = [json.loads(line)["text"] for line in open(path, encoding="utf-8") if line.strip()]
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    jieba.setLogLevel(60)
    jieba.initialize()
    runs = []
    tokens = 0
    for _ in range(passes):
        started = time.perf_counter()
        for t in texts:
            tokens += len(jieba.lcut(t, HMM=True))
        runs.append(mb / (time.perf_counter() - started))
    print(json.dumps({"peer": "python jieba " + jieba.__version__, "texts": len(texts), "mb": round(mb, 2),
                      "mb_per_sec": round(statistics.median(runs), 3), "runs": [round(r, 3) for r in runs],
                      "tokens": tokens // passes}))


if __name__ == "__main__":
    main()
