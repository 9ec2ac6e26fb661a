"""The README's baseline, run by us on the same files as `kefu nlu`: TF-IDF
n-grams + linear SVM (scikit-learn). Word 1-2 + char 2-5 grams for English,
char 1-3 grams for Chinese. Prints one JSON object per run.

usage: python3 bench/peers/sklearn_svm.py TRAIN.jsonl[,MORE.jsonl] TEST.jsonl zh|en [label_field] [split_train split_test]
Not part of CI; needs `pip install scikit-learn`.
"""
import json
import sys
import time

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

from labelled import rows


def main():
    train_paths, test_path, lang = sys.argv[1:4]
    field = sys.argv[4] if len(sys.argv) > 4 else "label"
    split_train = sys.argv[5] if len(sys.argv) > 5 else None
    split_test = sys.argv[6] if len(sys.argv) > 6 else None
    train = rows(train_paths, field, split_train)
    test = rows(test_path, field, split_test)
    if lang == "en":
        vec = FeatureUnion([
            ("w", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True)),
            ("c", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
        ])
    else:
        vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    t0 = time.perf_counter()
    x = vec.fit_transform([t for t, _ in train])
    clf = LinearSVC(C=1.0).fit(x, [l for _, l in train])
    train_s = time.perf_counter() - t0
    in_scope = [(t, l) for t, l in test if l != "oos"] if any(l == "oos" for _, l in test) else test
    t0 = time.perf_counter()
    pred = clf.predict(vec.transform([t for t, _ in in_scope]))
    predict_s = time.perf_counter() - t0
    gold = [l for _, l in in_scope]
    print(json.dumps({
        "n": len(in_scope),
        "accuracy": accuracy_score(gold, pred),
        "macro_f1": f1_score(gold, pred, average="macro"),
        "train_seconds": train_s,
        "predict_per_sec_batch": len(in_scope) / predict_s,
    }))


if __name__ == "__main__":
    main()
