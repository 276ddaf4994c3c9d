"""Writes a small synthetic summarization set: office e-mails and their subject lines.

Each e-mail has a greeting, a few filler sentences (some mention other days,
as distractors), one key sentence somewhere in the middle that states a fact
about an event or a deadline, and a sign-off. The summary is a short subject
line computed from the key fact, in words that the key sentence paraphrases:

    hi nora , hope the trip home went well . i will be out of office on monday .
    heads up : we had to push the design review from tuesday to friday .
    please keep the kitchen tidy . best , omar
    ->  design review moved to friday

The summary is a function of the source, but never its first words, so a
trained model should beat the Lead baseline by far. The set is
deterministic: the same seed writes the same files.

Usage:

    python data/make_sample_summaries.py [--output-dir data/summarize] [--seed 0]
"""

import argparse
import json
import pathlib
import random

NAMES = (
    "anna", "ben", "carla", "david", "emma", "felix", "grace", "hugo", "iris", "jonas",
    "karen", "leo", "maria", "nora", "omar", "paul", "rita", "sam", "tara", "victor",
)
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")
EVENTS = (
    "budget meeting", "team standup", "sprint review", "client call", "design review",
    "board meeting", "quarterly review", "product launch", "training session", "team lunch",
    "code review", "sales call", "project kickoff", "planning session", "all hands",
    "safety drill", "job interview", "customer demo", "vendor meeting", "team offsite",
)
DOCUMENTS = (
    "marketing report", "budget proposal", "release notes", "grant application", "slide deck",
    "user survey", "hiring plan", "tax forms", "risk assessment", "travel request",
)

# Key sentences: (summary template, source phrasings). {event}/{document} and {day} are the
# facts the summary keeps; {old_day} is a second day the summary must not copy.
KEY_FACTS = (
    (
        "{event} moved to {day}",
        (
            "the {event} on {old_day} has been moved to {day} .",
            "heads up : we had to push the {event} from {old_day} to {day} .",
            "please note that the {event} will now take place on {day} instead of {old_day} .",
            "because of a clash the {event} is rescheduled for {day} .",
        ),
    ),
    (
        "{event} cancelled",
        (
            "unfortunately the {event} on {day} is cancelled .",
            "we will not hold the {event} this week , sorry for the short notice .",
            "the {event} is called off until further notice .",
            "please remove the {event} from your calendar , it will not happen .",
        ),
    ),
    (
        "{event} confirmed for {day}",
        (
            "i can confirm that the {event} is on {day} .",
            "the {event} is going ahead on {day} as planned .",
            "good news : {day} works for everyone , so the {event} is fixed .",
        ),
    ),
    (
        "reminder {event} on {day}",
        (
            "just a reminder that the {event} is on {day} .",
            "do not forget the {event} this {day} .",
            "a quick reminder : we have the {event} on {day} morning .",
        ),
    ),
    (
        "{document} deadline extended to {day}",
        (
            "the deadline for the {document} has been extended until {day} .",
            "good news , you now have until {day} to send the {document} .",
            "we moved the due date of the {document} from {old_day} to {day} .",
        ),
    ),
    (
        "{document} due {day}",
        (
            "please send me the {document} by {day} at the latest .",
            "the {document} has to be ready by {day} .",
            "could you finish the {document} before {day} ?",
        ),
    ),
)

GREETINGS = ("hi {name} ,", "hello {name} ,", "dear {name} ,", "hey {name} ,", "hi team ,", "hello everyone ,")
FILLERS = (
    "hope you had a good weekend .",
    "hope the trip home went well .",
    "thanks for the quick reply yesterday .",
    "i will be out of office on {other_day} .",
    "the printer on the third floor is broken again .",
    "lunch on {other_day} is on me .",
    "the new coffee machine finally arrived .",
    "please keep the kitchen tidy .",
    "let me know if you have any questions .",
    "the parking lot will be closed on {other_day} .",
    "{other_name} says hello and sends the pictures from the party .",
    "i am still catching up on mail after my holiday .",
    "the wifi in the meeting rooms should work again .",
    "please update the shared calendar when you can .",
    "{other_name} joins our team on {other_day} .",
    "we are still waiting for the new laptops .",
    "the heating is being repaired on {other_day} .",
    "sorry for the long mail .",
    "it was great to see everyone at the party .",
    "feel free to forward this to {other_name} .",
)
SIGN_OFFS = ("thanks , {name}", "best , {name}", "cheers , {name}", "regards , {name}", "see you , {name}")

MIN_WORDS, MAX_WORDS = 30, 60


def fill(template, rng, facts):
    return template.format(
        other_day=rng.choice(DAYS),
        other_name=rng.choice(NAMES),
        name=rng.choice(NAMES),
        **facts,
    )


def make_example(rng):
    """One e-mail and its subject line, drawn with `rng` (a `random.Random`)."""
    summary_template, phrasings = rng.choice(KEY_FACTS)
    day, old_day = rng.sample(DAYS, 2)
    facts = {"event": rng.choice(EVENTS), "document": rng.choice(DOCUMENTS), "day": day, "old_day": old_day}
    key = fill(rng.choice(phrasings), rng, facts)
    while True:
        before = [fill(sentence, rng, facts) for sentence in rng.sample(FILLERS, rng.randint(1, 3))]
        after = [fill(sentence, rng, facts) for sentence in rng.sample(FILLERS, rng.randint(1, 3))]
        sentences = [fill(rng.choice(GREETINGS), rng, facts), *before, key, *after, fill(rng.choice(SIGN_OFFS), rng, facts)]
        text = " ".join(sentences)
        if MIN_WORDS <= len(text.split()) <= MAX_WORDS:
            return {"text": text, "summary": summary_template.format(**facts)}


def write_split(path, examples):
    with open(path, "w", encoding="utf-8") as file:
        for example in examples:
            file.write(json.dumps(example) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", default=str(pathlib.Path(__file__).parent / "summarize"),
                        help="directory for train.jsonl, valid.jsonl and test.jsonl")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random generator")
    parser.add_argument("--train-size", type=int, default=4000, help="number of training examples")
    parser.add_argument("--valid-size", type=int, default=300, help="number of validation examples")
    parser.add_argument("--test-size", type=int, default=300, help="number of test examples")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    output_dir = pathlib.Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    for split, size in (("train", args.train_size), ("valid", args.valid_size), ("test", args.test_size)):
        write_split(output_dir / f"{split}.jsonl", [make_example(rng) for _ in range(size)])
        print(f"wrote {size} examples to {output_dir / f'{split}.jsonl'}")


if __name__ == "__main__":
    main()
