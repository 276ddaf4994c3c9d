"""Writes the sample corpus in data/lm: simple English from a small probabilistic grammar.

The grammar was written for textlstm. Sentences keep to one topic at a time
(a kitchen, a farm, a city, a school, the weather, a harbour), verbs agree with
their subjects, and a few patterns recur, so a language model has real
structure to learn: which words follow which, topic consistency within a
sentence, agreement, and sentence endings. One sentence per line, words and
punctuation separated by spaces. Deterministic for a given seed.

Usage:
    python data/make_sample_corpus.py [--out data/lm] [--seed 1234]
"""

import argparse
import os
import random

NAMES = ["anna", "ben", "clara", "david", "emma", "felix", "grace", "hugo", "ida", "jonas",
         "kate", "leo", "maria", "nora", "oscar", "paula", "rosa", "sam", "tom", "vera"]

# Each topic: nouns as (singular, plural); verbs as (third person singular, base, past) with the
# objects that fit them; adjectives; places; and times.
TOPICS = {
    "kitchen": {
        "agents": [("cook", "cooks"), ("baker", "bakers"), ("chef", "chefs"), ("waiter", "waiters")],
        "verbs": [
            (("cuts", "cut", "cut"), ["the bread", "an onion", "the cheese", "some carrots", "the meat"]),
            (("bakes", "bake", "baked"), ["a cake", "the bread", "some cookies", "a pie", "fresh rolls"]),
            (("boils", "boil", "boiled"), ["the water", "some eggs", "the potatoes", "the rice", "the soup"]),
            (("tastes", "taste", "tasted"), ["the soup", "the sauce", "the cake", "the tea", "the stew"]),
            (("washes", "wash", "washed"), ["the plates", "the cups", "the pan", "the knives", "the apples"]),
        ],
        "adjectives": ["hot", "sweet", "fresh", "salty", "warm", "tasty"],
        "places": ["in the kitchen", "at the bakery", "in the restaurant", "near the oven", "at the table"],
        "things": [("oven", "ovens"), ("plate", "plates"), ("soup", "soups"), ("cake", "cakes"), ("knife", "knives")],
    },
    "farm": {
        "agents": [("farmer", "farmers"), ("dog", "dogs"), ("horse", "horses"), ("cow", "cows"), ("goat", "goats")],
        "verbs": [
            (("feeds", "feed", "fed"), ["the chickens", "the pigs", "the lambs", "the calves", "the geese"]),
            (("plants", "plant", "planted"), ["the corn", "some potatoes", "new trees", "the wheat", "the beans"]),
            (("eats", "eat", "ate"), ["the grass", "some hay", "the apples", "the corn", "fresh clover"]),
            (("chases", "chase", "chased"), ["the sheep", "a rabbit", "the chickens", "a fox", "the geese"]),
            (("milks", "milk", "milked"), ["the cows", "the goats", "a cow", "the old goat", "the brown cow"]),
        ],
        "adjectives": ["green", "muddy", "quiet", "brown", "old", "busy"],
        "places": ["in the field", "on the farm", "behind the barn", "near the river", "in the meadow"],
        "things": [("barn", "barns"), ("field", "fields"), ("tractor", "tractors"), ("fence", "fences"), ("gate", "gates")],
    },
    "city": {
        "agents": [("driver", "drivers"), ("tourist", "tourists"), ("police officer", "police officers"),
                   ("shopkeeper", "shopkeepers"), ("student", "students")],
        "verbs": [
            (("takes", "take", "took"), ["the bus", "the train", "a taxi", "the tram", "the subway"]),
            (("visits", "visit", "visited"), ["the museum", "the market", "the old church", "the park", "the library"]),
            (("buys", "buy", "bought"), ["a ticket", "a newspaper", "some flowers", "a map", "a coffee"]),
            (("crosses", "cross", "crossed"), ["the street", "the bridge", "the square", "the road", "the avenue"]),
            (("opens", "open", "opened"), ["the shop", "the door", "the window", "the gate", "the box"]),
        ],
        "adjectives": ["crowded", "noisy", "tall", "modern", "narrow", "bright"],
        "places": ["in the city", "downtown", "at the station", "on the main street", "near the harbour"],
        "things": [("street", "streets"), ("bus", "buses"), ("tower", "towers"), ("shop", "shops"), ("bridge", "bridges")],
    },
    "school": {
        "agents": [("teacher", "teachers"), ("pupil", "pupils"), ("student", "students"), ("librarian", "librarians")],
        "verbs": [
            (("reads", "read", "read"), ["a book", "the lesson", "a poem", "the story", "the letter"]),
            (("writes", "write", "wrote"), ["a letter", "an essay", "the answer", "a poem", "the notes"]),
            (("solves", "solve", "solved"), ["the problem", "the puzzle", "a riddle", "the equation", "the exercise"]),
            (("explains", "explain", "explained"), ["the lesson", "the rule", "the answer", "the problem", "the story"]),
            (("draws", "draw", "drew"), ["a map", "a picture", "a circle", "the tree", "a house"]),
        ],
        "adjectives": ["clever", "patient", "young", "curious", "careful", "tired"],
        "places": ["in the classroom", "at school", "in the library", "after the lesson", "in the garden"],
        "things": [("book", "books"), ("desk", "desks"), ("lesson", "lessons"), ("pencil", "pencils"), ("map", "maps")],
    },
    "harbour": {
        "agents": [("sailor", "sailors"), ("fisherman", "fishermen"), ("captain", "captains"), ("gull", "gulls")],
        "verbs": [
            (("catches", "catch", "caught"), ["a fish", "some crabs", "the rope", "a big tuna", "the net"]),
            (("repairs", "repair", "repaired"), ["the boat", "the net", "the sail", "the engine", "the old mast"]),
            (("watches", "watch", "watched"), ["the waves", "the ships", "the lighthouse", "the storm", "the tide"]),
            (("pulls", "pull", "pulled"), ["the rope", "the net", "the anchor", "the boat", "the sail"]),
            (("steers", "steer", "steered"), ["the boat", "the ship", "the ferry", "the small boat", "the yacht"]),
        ],
        "adjectives": ["salty", "windy", "grey", "calm", "rough", "wet"],
        "places": ["at the harbour", "on the boat", "by the sea", "near the lighthouse", "on the pier"],
        "things": [("boat", "boats"), ("wave", "waves"), ("net", "nets"), ("ship", "ships"), ("sail", "sails")],
    },
}

TIMES = ["in the morning", "in the evening", "every day", "on monday", "at noon", "last week", "yesterday",
         "in winter", "in summer", "at night"]
PAST_TIMES = {"last week", "yesterday"}
WEATHER = [("sun", "shines", "shone"), ("rain", "falls", "fell"), ("wind", "blows", "blew"),
           ("snow", "falls", "fell"), ("fog", "rises", "rose")]


def noun_phrase(rng, topic, plural):
    """Returns a subject such as 'the old farmer' or 'two dogs' and nothing else."""
    singular, plural_form = rng.choice(topic["agents"])
    adjective = rng.choice(topic["adjectives"]) + " " if rng.random() < 0.3 else ""
    if plural:
        determiner = rng.choice(["the", "the", "two", "three", "many", "some"])
        return f"{determiner} {adjective}{plural_form}"
    if rng.random() < 0.25:
        return rng.choice(NAMES)
    return f"{rng.choice(['the', 'the', 'a', 'our'])} {adjective}{singular}"


def clause(rng, topic):
    """Returns a subject-verb-object clause with agreement and an optional place and time."""
    plural = rng.random() < 0.35
    subject = noun_phrase(rng, topic, plural)
    (third, base, past), objects = rng.choice(topic["verbs"])
    time = rng.choice(TIMES) if rng.random() < 0.4 else ""
    if time in PAST_TIMES:
        verb = past
    elif rng.random() < 0.15:
        verb = ("does not " if not plural else "do not ") + base
    else:
        verb = base if plural else third
    words = [subject, verb, rng.choice(objects)]
    if rng.random() < 0.5:
        words.append(rng.choice(topic["places"]))
    if time:
        words.append(time)
    return " ".join(words)


def sentence(rng, topic):
    """Returns one sentence of the topic, ending in punctuation."""
    choice = rng.random()
    if choice < 0.45:
        return clause(rng, topic) + " ."
    if choice < 0.6:
        return f"{clause(rng, topic)} and {clause(rng, topic)} ."
    if choice < 0.7:
        return f"{rng.choice(NAMES)} said that {clause(rng, topic)} ."
    if choice < 0.78:
        (third, base, past), objects = rng.choice(topic["verbs"])
        singular, _ = rng.choice(topic["agents"])
        return f"does the {singular} {base} {rng.choice(objects)} ?"
    if choice < 0.88:
        singular, plural = rng.choice(topic["things"])
        adjective = rng.choice(topic["adjectives"])
        if rng.random() < 0.5:
            return f"the {singular} is {adjective} ."
        return f"the {plural} are {adjective} ."
    weather, present, past = rng.choice(WEATHER)
    if rng.random() < 0.5:
        return f"the {weather} {present} {rng.choice(topic['places'])} ."
    return f"yesterday the {weather} {past} and {clause(rng, topic)} ."


def paragraph(rng):
    """Returns a few sentences on one topic, one per line."""
    topic = TOPICS[rng.choice(sorted(TOPICS))]
    return [sentence(rng, topic) for _ in range(rng.randint(2, 6))]


def write_split(path, rng, num_lines):
    """Writes num_lines sentences to path through a temporary file."""
    lines = []
    while len(lines) < num_lines:
        lines.extend(paragraph(rng))
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as file:
        file.write("\n".join(lines[:num_lines]) + "\n")
    os.replace(temporary, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "lm"),
                        help="directory to write train.txt, valid.txt and test.txt into")
    parser.add_argument("--seed", type=int, default=1234, help="random seed; the same seed gives the same corpus")
    parser.add_argument("--train-lines", type=int, default=12000, help="sentences in train.txt")
    parser.add_argument("--eval-lines", type=int, default=1200, help="sentences in valid.txt and in test.txt")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for offset, (name, num_lines) in enumerate(
        [("train", args.train_lines), ("valid", args.eval_lines), ("test", args.eval_lines)]
    ):
        write_split(os.path.join(args.out, f"{name}.txt"), random.Random(args.seed + offset), num_lines)


if __name__ == "__main__":
    main()
