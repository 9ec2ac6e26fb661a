"""The labelled JSONL files the peers read, as `kefu nlu train|eval` reads them."""
import json


def rows(paths, field="label", split=None):
    """(text, label) pairs of one or more comma-separated JSONL files; only
    rows whose "split" is `split` when given."""
    out = []
    for path in paths.split(","):
        for line in open(path, encoding="utf-8"):
            r = json.loads(line)
            if split and r.get("split") != split:
                continue
            out.append((r["text"], str(r[field])))
    return out
