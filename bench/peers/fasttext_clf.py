"""S3's fastText peer: PyPI fastText (supervised, softmax, word bigrams) trained
and evaluated on the same JSONL files as `kefu nlu train|eval`. Chinese text is
cut with PyPI jieba first (fastText needs words split by spaces), English is
lower-cased and split on spaces. Prints one JSON object: accuracy, training
seconds, and single-message prediction speed on one thread, with and without
the word cutting.

usage: python3 bench/peers/fasttext_clf.py TRAIN.jsonl TEST.jsonl zh|en [label_field] [split_train split_test]
Not part of CI; needs `pip install fasttext-wheel jieba`.
"""
import json
import os
import re
import sys
import tempfile
import time

import fasttext
import jieba

from labelled import rows


def words(text, lang):
    if lang == "zh":
        return " ".join(w for w in jieba.lcut(text.replace("\n", " ")) if w.strip())
    return " ".join(re.findall(r"[a-z0-9']+|[^\sa-z0-9']", text.lower()))


def main():
    train_path, test_path, lang = sys.argv[1:4]
    field = sys.argv[4] if len(sys.argv) > 4 else "label"
    split_train = sys.argv[5] if len(sys.argv) > 5 else None
    split_test = sys.argv[6] if len(sys.argv) > 6 else None
    jieba.setLogLevel(60)
    train = rows(train_path, field, split_train)
    test = [(t, l) for t, l in rows(test_path, field, split_test) if l != "oos"]
    started = time.perf_counter()
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        for t, l in train:
            f.write(f"__label__{l.replace(' ', '_')} {words(t, lang)}\n")
    model = fasttext.train_supervised(f.name, epoch=25, lr=0.5, wordNgrams=2, dim=100, minCount=1, thread=2, verbose=0)
    train_s = time.perf_counter() - started
    os.unlink(f.name)
    # The wrapper's own predict() breaks under NumPy 2 (np.array(copy=False));
    # this is the call it makes, with the newline it appends.
    def predict(c):
        return model.f.predict(c + "\n", 1, 0.0, "strict")[0][1]

    cut = [words(t, lang) for t, _ in test]
    right = sum(predict(c) == "__label__" + l.replace(" ", "_") for c, (_, l) in zip(cut, test))
    started = time.perf_counter()
    for c in cut:
        predict(c)
    predict_only = len(cut) / (time.perf_counter() - started)
    started = time.perf_counter()
    for t, _ in test:
        predict(words(t, lang))
    with_cutting = len(test) / (time.perf_counter() - started)
    print(json.dumps({"peer": "fastText (PyPI fasttext-wheel)", "n": len(test), "accuracy": round(right / len(test), 4),
                      "train_s": round(train_s, 1), "texts_per_sec_predict_only": round(predict_only),
                      "texts_per_sec_with_word_cutting": round(with_cutting)}))


if __name__ == "__main__":
    main()
