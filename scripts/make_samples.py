#!/usr/bin/env python3
"""Writes data/samples/sst2/{train,dev}.tsv: small synthetic movie-review sentences in the GLUE
SST-2 layout (header 'sentence\tlabel', lower-cased, a space before punctuation, a trailing space).
Written by this project (not taken from SST-2) so the default run works anywhere. Deterministic."""
import random, pathlib

POS_ADJ = ["charming", "moving", "funny", "gorgeous", "clever", "tender", "thrilling", "warm", "smart",
           "delightful", "beautiful", "heartfelt", "witty", "gripping", "lovely", "sharp", "brilliant", "fresh"]
NEG_ADJ = ["dull", "tedious", "clumsy", "boring", "lifeless", "flat", "messy", "shallow", "tiresome",
           "predictable", "bland", "awkward", "sloppy", "pointless", "stale", "hollow", "grating", "lazy"]
NOUNS = ["film", "movie", "story", "script", "cast", "performance", "comedy", "drama", "thriller",
         "documentary", "direction", "soundtrack", "ending", "dialogue", "picture", "plot"]
POS_TAIL = ["that stays with you", "worth every minute", "full of life", "with real heart",
            "that earns its laughs", "you will want to see twice", "made with obvious care"]
NEG_TAIL = ["that goes nowhere", "that overstays its welcome", "without a single surprise",
            "you will forget by morning", "that never finds its footing", "padded with filler"]
ADV = ["", "", "really ", "quite ", "remarkably ", "genuinely ", "simply "]
NEGATE = {"pos": "not ", "neg": "hardly "}

def sentence(rnd, label):
    adj = rnd.choice(POS_ADJ if label else NEG_ADJ)
    other = rnd.choice(NEG_ADJ if label else POS_ADJ)
    noun = rnd.choice(NOUNS)
    tail = rnd.choice(POS_TAIL if label else NEG_TAIL)
    forms = [
        f"a {rnd.choice(ADV)}{adj} {noun} {tail} .",
        f"the {noun} is {rnd.choice(ADV)}{adj} , and the {rnd.choice(NOUNS)} is {rnd.choice(POS_ADJ if label else NEG_ADJ)} .",
        f"an {adj} , {rnd.choice(POS_ADJ if label else NEG_ADJ)} {noun}",
        f"{rnd.choice(ADV)}{adj} from start to finish",
        f"far from {other} , this {noun} is {adj} .",
        f"the {noun} is {'never' if label else 'rarely'} {other} and always {adj} .",
        f"{tail}",
        f"it 's a {adj} {noun} {tail} .",
    ]
    return rnd.choice(forms)

def write(path, n, seed):
    rnd = random.Random(seed)
    rows = ["sentence\tlabel"]
    for i in range(n):
        label = rnd.randint(0, 1)
        rows.append(f"{sentence(rnd, label)} \t{label}")
    pathlib.Path(path).write_text("\n".join(rows) + "\n")

root = pathlib.Path(__file__).resolve().parent.parent / "data" / "samples" / "sst2"
root.mkdir(parents=True, exist_ok=True)
write(root / "train.tsv", 400, 1)
write(root / "dev.tsv", 120, 2)
