"""Grammars and phrase lists for every SynthSLU-7 subset.

All English text is produced already normalised (lower case, numbers spelled out) so that what
espeak speaks is exactly what the manifest stores. Each generator takes a `numpy.random.Generator`
so an utterance's text depends only on its own seed (determinism independent of worker order).

Slots: a template is a string with `{slot}` placeholders. Slots whose name is an entity type
(`tasks.ENTITY_TYPES`) become NER entities; the others (music, food...) are plain fillers.
"""
from __future__ import annotations

import re

import numpy as np

from benchmark.data import lexicon as lx
from benchmark.tasks import ENTITY_TYPES, INTENTS

# ---- numbers, dates, times ---------------------------------------------------------------------
_ONES = lx._w("zero one two three four five six seven eight nine ten eleven twelve thirteen "
               "fourteen fifteen sixteen seventeen eighteen nineteen")
_TENS = lx._w("_ _ twenty thirty forty fifty sixty seventy eighty ninety")
MONTHS = lx._w("january february march april may june july august september october november "
               "december")
WEEKDAYS = lx._w("monday tuesday wednesday thursday friday saturday sunday")


def number_words(n: int) -> str:
    """Spell out 0 <= n < 10000 in English ('three hundred and five')."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " and " + number_words(rest))
    rest = n % 1000
    tail = "" if rest == 0 else (" and " if rest < 100 else " ") + number_words(rest)
    return number_words(n // 1000) + " thousand" + tail


def _ordinal(day: int) -> str:
    words = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
             "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth",
             "sixteenth", "seventeenth", "eighteenth", "nineteenth", "twentieth"]
    if day <= 20:
        return words[day - 1]
    return ("twenty " if day < 30 else "thirty ") + words[day % 10 - 1] if day % 10 else \
        ("twentieth" if day == 20 else "thirtieth")


def _pick(rng: np.random.Generator, seq):
    return seq[int(rng.integers(len(seq)))]


def gen_date(rng: np.random.Generator) -> str:
    r = rng.random()
    if r < 0.25:
        return _pick(rng, ("today", "tomorrow", "tonight", "this weekend", "next week",
                           "the day after tomorrow"))
    if r < 0.55:
        return _pick(rng, ("", "next ", "this ")) + _pick(rng, WEEKDAYS)
    return f"the {_ordinal(int(rng.integers(1, 29)))} of {_pick(rng, MONTHS)}"


def gen_time(rng: np.random.Generator) -> str:
    h = int(rng.integers(1, 13))
    r = rng.random()
    if r < 0.3:
        return f"{number_words(h)} {_pick(rng, ('am', 'pm', 'o clock'))}"
    if r < 0.6:
        m = int(_pick(rng, (5, 10, 15, 20, 25, 30, 40, 45, 50)))
        return f"{number_words(h)} {number_words(m)}"
    if r < 0.85:
        return f"{_pick(rng, ('half past', 'quarter past', 'quarter to'))} {number_words(h)}"
    return _pick(rng, ("noon", "midnight"))


# ---- slot fillers ------------------------------------------------------------------------------
_PLACES_MAIN = tuple(lx.CITIES) + ("the office", "the airport", "the train station",
                                   "the city centre", "the beach", "the museum")
_PLACES_SHIFT = ("reading", "norwich", "exeter", "swansea", "aberdeen", "inverness", "belfast",
                 "cork", "galway", "lyon", "marseille", "porto", "seville", "valencia", "munich",
                 "hamburg", "krakow", "gdansk", "budapest", "bucharest", "the harbour",
                 "the university", "the hospital", "the stadium", "the conference centre")
_DEVICES = ("lights", "kitchen light", "bedroom lamp", "living room lights", "heater", "fan",
            "television", "speaker", "vacuum cleaner", "robot vacuum", "dishwasher",
            "washing machine", "coffee machine", "air conditioner", "garage door", "oven")
_DEVICES_SHIFT = ("hallway lamp", "desk lamp", "porch light", "dehumidifier", "tumble dryer",
                  "ceiling fan", "radiator", "projector", "kettle", "floor cleaner")
_FILLERS_MAIN: dict[str, tuple[str, ...]] = {
    "artist": ("the beatles", "adele", "queen", "taylor swift", "coldplay", "abba", "bob marley",
               "miles davis", "mozart", "beethoven", "elton john", "the rolling stones"),
    "genre": ("jazz", "rock", "classical music", "pop", "reggae", "blues", "country music",
              "hip hop", "folk music", "soul"),
    "station": ("radio one", "jazz fm", "classic fm", "the news channel", "radio four",
                "capital radio", "smooth radio"),
    "podcast": ("the daily", "science weekly", "history hour", "the football show",
                "the cooking podcast", "tech talk"),
    "food": ("a pizza", "some sushi", "a curry", "two burgers", "fish and chips", "noodles",
             "a salad", "a kebab", "pasta"),
    "restaurant": ("pizza palace", "the golden dragon", "burger barn", "the curry house",
                   "noodle bar"),
    "listname": ("shopping list", "to do list", "grocery list", "packing list", "party list"),
    "item": ("milk", "eggs", "bread", "apples", "coffee", "batteries", "soap", "rice", "butter",
             "tomatoes", "cheese"),
    "dish": ("pancakes", "lasagne", "vegetable soup", "chocolate cake", "risotto", "omelette",
             "banana bread", "chicken curry", "apple pie"),
    "topic": ("sports", "politics", "business", "science", "technology", "the elections",
              "the economy", "football"),
    "event": ("dentist appointment", "team meeting", "birthday party", "job interview",
              "dinner with friends", "yoga class", "parents evening"),
    "weather": ("rain", "snow", "sunshine", "wind", "a storm", "fog"),
    "transport": ("train", "bus", "plane", "ferry", "coach", "taxi"),
    "subject": ("the invoice", "the holiday photos", "the meeting notes", "the project plan",
                "the party", "the report"),
}
_FILLERS_SHIFT: dict[str, tuple[str, ...]] = {
    "artist": ("nina simone", "prince", "bach", "chopin", "madonna", "oasis", "blur", "bjork"),
    "genre": ("techno", "opera", "punk", "gospel", "lounge music", "metal"),
    "station": ("radio three", "world service", "kiss fm", "heart radio"),
    "podcast": ("the history of rome", "money matters", "garden talk", "the film review"),
    "food": ("a ramen bowl", "tacos", "a falafel wrap", "dumplings", "a poke bowl"),
    "restaurant": ("taco town", "the dumpling house", "green leaf cafe"),
    "listname": ("errands list", "reading list", "chores list"),
    "item": ("oat milk", "lentils", "toothpaste", "light bulbs", "yoghurt", "spinach"),
    "dish": ("mushroom stew", "fish pie", "lemon tart", "bean chilli", "stuffed peppers"),
    "topic": ("the stock market", "climate", "health", "space exploration", "the weather"),
    "event": ("vet appointment", "book club", "school concert", "car service", "tennis lesson"),
    "weather": ("hail", "frost", "thunder", "drizzle"),
    "transport": ("tram", "metro", "night bus", "high speed train"),
    "subject": ("the budget", "the contract", "the tickets", "the recipe"),
}


def _person(rng: np.random.Generator) -> str:
    first = _pick(rng, lx.FIRST_NAMES)
    return first if rng.random() < 0.6 else f"{first} {_pick(rng, lx.SURNAMES)}"


def fill_slot(slot: str, rng: np.random.Generator, shift: bool = False) -> str:
    """A random value for `slot`; `shift=True` draws from the ic_new value pools."""
    if slot == "date":
        return gen_date(rng)
    if slot == "time":
        return gen_time(rng)
    if slot == "place":
        return _pick(rng, _PLACES_SHIFT if shift else _PLACES_MAIN)
    if slot == "person":
        return _person(rng)
    if slot == "device":
        return _pick(rng, _DEVICES_SHIFT if shift else _DEVICES)
    if slot == "number":
        return number_words(int(_pick(rng, (int(rng.integers(2, 13)), int(rng.integers(13, 100)),
                                             int(rng.integers(100, 1000))))))
    return _pick(rng, (_FILLERS_SHIFT if shift else _FILLERS_MAIN)[slot])


# ---- intent templates --------------------------------------------------------------------------
IC_TEMPLATES: dict[str, tuple[str, ...]] = {
    "alarm_set": ("wake me up at {time} {date}", "set an alarm for {time}",
                  "set an alarm for {time} {date}", "i need an alarm at {time}",
                  "please set my alarm to {time} {date}", "alarm at {time} please"),
    "alarm_query": ("what alarms do i have", "which alarms are set for {date}",
                    "is my alarm set for {time}", "show me my alarms",
                    "do i have an alarm {date}"),
    "alarm_remove": ("cancel my alarm for {time}", "remove the alarm for {date}",
                     "delete all my alarms", "turn off the {time} alarm",
                     "please cancel the alarm {date}"),
    "weather_query": ("what is the weather in {place} {date}", "will there be {weather} {date}",
                      "is it going to be cold in {place}", "how hot will it be {date}",
                      "do i need an umbrella {date}", "what is the forecast for {place}"),
    "play_music": ("play some {genre}", "play music by {artist}", "put on {artist}",
                   "i want to hear some {genre}", "play my {genre} playlist",
                   "start playing {artist}"),
    "play_radio": ("play {station}", "turn on the radio", "tune in to {station}",
                   "put {station} on", "i want to listen to {station}"),
    "play_podcasts": ("play the next episode of {podcast}", "play {podcast}",
                      "resume my podcast", "put on the latest {podcast} episode",
                      "find a podcast about {topic}"),
    "iot_hue_lightson": ("turn on the {device}", "switch the lights on",
                         "lights on in the kitchen", "please turn the {device} on",
                         "can you switch on the {device}"),
    "iot_hue_lightoff": ("turn off the lights", "switch off the {device}",
                         "lights off please", "turn the {device} off",
                         "shut off all the lights"),
    "iot_hue_lightdim": ("dim the lights", "make the lights darker",
                         "lower the lights to {number} percent", "dim the {device}",
                         "turn the lights down a bit"),
    "iot_cleaning": ("start the {device}", "vacuum the living room", "clean the floor",
                     "turn on the robot vacuum", "run the {device} at {time}"),
    "audio_volume_up": ("turn the volume up", "make it louder", "increase the volume",
                        "volume up by {number}", "i cannot hear it turn it up"),
    "audio_volume_down": ("turn the volume down", "make it quieter", "lower the volume",
                          "volume down by {number}", "it is too loud turn it down"),
    "audio_volume_mute": ("mute the speaker", "mute the sound", "silence please",
                          "turn the sound off", "mute the {device}"),
    "calendar_set": ("add a {event} {date} at {time}", "remind me about the {event} {date}",
                     "schedule a meeting with {person} {date}",
                     "put {event} in my calendar for {date}",
                     "book lunch with {person} at {time}"),
    "calendar_query": ("what is on my calendar {date}", "when is my {event}",
                       "do i have any meetings {date}", "am i free at {time} {date}",
                       "when am i meeting {person}"),
    "email_sendemail": ("send an email to {person}", "email {person} about {subject}",
                        "write an email to {person} saying i am late",
                        "reply to {person}", "send {person} {subject}"),
    "email_query": ("do i have any new emails", "read my emails",
                    "did {person} send me an email", "check my inbox",
                    "any emails from {person} {date}"),
    "datetime_query": ("what time is it", "what is the date {date}",
                       "what time is it in {place}", "what day is it today",
                       "what is the date of {event}"),
    "news_query": ("what is the latest news", "tell me the news about {topic}",
                   "any news from {place}", "read me the headlines",
                   "what happened in {topic} {date}"),
    "takeaway_order": ("order {food} from {restaurant}", "i want to order {food}",
                       "get me {food} for dinner", "order a takeaway from {restaurant}",
                       "can you order {number} portions of {food}"),
    "transport_ticket": ("book a {transport} ticket to {place}",
                         "buy a ticket to {place} {date}",
                         "i need {number} tickets to {place}",
                         "book me a {transport} to {place} at {time}",
                         "get a return ticket to {place}"),
    "transport_query": ("when is the next {transport} to {place}",
                        "how long does the {transport} to {place} take",
                        "is the {time} {transport} on time", "are there delays to {place}",
                        "what time does the last {transport} leave"),
    "lists_createoradd": ("add {item} to my {listname}", "create a new {listname}",
                          "put {item} on the {listname}", "make a {listname} for {date}",
                          "add {number} {item} to the {listname}"),
    "cooking_recipe": ("how do i make {dish}", "give me a recipe for {dish}",
                       "how long do i cook {dish}", "what can i cook with {item}",
                       "find me a recipe for {dish}"),
    "general_joke": ("tell me a joke", "say something funny", "do you know any jokes",
                     "make me laugh", "tell me a joke about {topic}"),
}

# ic_new: the same intents phrased differently (polite / indirect / verbose) with new slot values.
IC_NEW_TEMPLATES: dict[str, tuple[str, ...]] = {
    "alarm_set": ("could you make sure i am awake by {time}",
                  "i would like to be woken at {time} {date}",
                  "remember to ring at {time} to get me up"),
    "alarm_query": ("tell me which alarms are active", "have i got anything ringing {date}",
                    "list every alarm i have"),
    "alarm_remove": ("i no longer need the alarm at {time}", "get rid of my alarms {date}",
                     "scrap the morning alarm"),
    "weather_query": ("should i expect {weather} in {place} {date}",
                      "tell me how the sky looks over {place}",
                      "what temperature can we expect {date}"),
    "play_music": ("i am in the mood for {genre}", "could you put some {artist} on for me",
                   "let us listen to {artist}"),
    "play_radio": ("switch over to {station}", "i fancy hearing {station}",
                   "could you find {station} on the radio"),
    "play_podcasts": ("carry on with {podcast} where i stopped", "i want the newest {podcast}",
                      "look for an episode on {topic}"),
    "iot_hue_lightson": ("it is dark in here light up the {device}",
                         "give me some light from the {device}", "bring the {device} on"),
    "iot_hue_lightoff": ("kill the {device}", "i do not need the {device} any more",
                         "let it go dark in here"),
    "iot_hue_lightdim": ("the {device} is too bright", "bring the brightness down to {number}",
                         "soften the light in this room"),
    "iot_cleaning": ("the floor is dirty get the {device} going",
                     "have the {device} tidy up at {time}", "could the house be vacuumed"),
    "audio_volume_up": ("i can barely hear this", "raise the sound by {number}",
                        "crank it up a little"),
    "audio_volume_down": ("that is far too noisy", "bring the sound down by {number}",
                          "could it be a bit softer"),
    "audio_volume_mute": ("no sound at all please", "silence the {device}",
                          "cut the audio completely"),
    "calendar_set": ("pencil in a {event} for {date}", "block {time} {date} for {person}",
                     "note down my {event} on {date}"),
    "calendar_query": ("what does my schedule look like {date}",
                       "is anything planned at {time}", "when will i see {person} next"),
    "email_sendemail": ("drop {person} a quick message about {subject}",
                        "compose a mail to {person}", "let {person} know by email"),
    "email_query": ("has anything arrived in my mailbox", "is there mail from {person}",
                    "go through my unread messages"),
    "datetime_query": ("could you tell me the time", "which date is {date}",
                       "how late is it in {place} right now"),
    "news_query": ("catch me up on {topic}", "what is going on in {place}",
                   "brief me on today's stories"),
    "takeaway_order": ("i am hungry get {food} delivered", "arrange a delivery from {restaurant}",
                       "we would like {number} servings of {food}"),
    "transport_ticket": ("reserve a seat on the {transport} to {place}",
                         "purchase {number} fares to {place} {date}",
                         "sort me out a ticket for {place}"),
    "transport_query": ("is the {transport} to {place} running late",
                        "how soon can i get a {transport} to {place}",
                        "check the departures to {place}"),
    "lists_createoradd": ("we are out of {item} note it down", "start a fresh {listname}",
                          "include {item} on my {listname}"),
    "cooking_recipe": ("walk me through cooking {dish}", "what goes into {dish}",
                       "suggest a meal using {item}"),
    "general_joke": ("cheer me up with something silly", "got anything funny for me",
                     "i could use a laugh"),
}
assert set(IC_TEMPLATES) == set(INTENTS) == set(IC_NEW_TEMPLATES)

_SLOT = re.compile(r"\{(\w+)\}")


def realise(template: str, rng: np.random.Generator, shift: bool = False
            ) -> tuple[str, list[dict]]:
    """Fill a template's slots; returns (text, entities in spoken order)."""
    entities: list[dict] = []

    def _sub(match: re.Match) -> str:
        slot = match.group(1)
        value = fill_slot(slot, rng, shift)
        if slot in ENTITY_TYPES:
            entities.append({"type": slot, "value": value})
        return value

    text = re.sub(r"\s+", " ", _SLOT.sub(_sub, template)).strip()
    return text, entities


def intent_utterance(intent: str, rng: np.random.Generator, shift: bool = False
                     ) -> tuple[str, list[dict]]:
    templates = (IC_NEW_TEMPLATES if shift else IC_TEMPLATES)[intent]
    return realise(_pick(rng, templates), rng, shift)


_NER_TEMPLATES = tuple(t for ts in IC_TEMPLATES.values() for t in ts
                       if any(s in ENTITY_TYPES for s in _SLOT.findall(t)))
_NO_ENTITY_TEMPLATES = tuple(t for ts in IC_TEMPLATES.values() for t in ts if "{" not in t)


def ner_utterance(rng: np.random.Generator) -> tuple[str, list[dict]]:
    """An IC-like command; about 5% carry no entity so that `[]` is a seen target."""
    if rng.random() < 0.05:
        return _pick(rng, _NO_ENTITY_TEMPLATES), []
    return realise(_pick(rng, _NER_TEMPLATES), rng)


# ---- ASR grammar -------------------------------------------------------------------------------
def _np(rng: np.random.Generator, nouns=lx.NOUNS, adjs=lx.ADJECTIVES, plural: bool = True
        ) -> str:
    """Noun phrase: determiner (+ adjective) + noun, or (if `plural`) a plural."""
    noun = _pick(rng, nouns)
    adj = _pick(rng, adjs) + " " if rng.random() < 0.5 else ""
    r = rng.random() if plural else 1.0
    if r < 0.2:
        return f"{number_words(int(rng.integers(2, 13)))} {adj}{lx.plural(noun)}"
    if r < 0.35:
        return f"some {adj}{lx.plural(noun)}"
    det = _pick(rng, ("the", "a", "my", "your", "our", "this", "that", "her", "his"))
    if det == "a" and (adj or noun)[0] in "aeiou":
        det = "an"
    return f"{det} {adj}{noun}"


def _name(rng: np.random.Generator) -> str:
    return _pick(rng, lx.FIRST_NAMES) if rng.random() < 0.7 else \
        f"my {_pick(rng, lx.RELATIONS)}"


_ASR_MAIN = (
    lambda r: f"{_name(r)} {_pick(r, lx.VERBS_T)[1]} {_np(r)} {_pick(r, lx.TIME_ADVERBIALS)}",
    lambda r: f"{_np(r, plural=False)} is {_pick(r, lx.PREPOSITIONS)} {_np(r)}",
    lambda r: f"please {_pick(r, lx.VERBS_T)[0]} {_np(r)} {_pick(r, lx.ADVERBS)}",
    lambda r: f"did you {_pick(r, lx.VERBS_T)[0]} {_np(r)} {_pick(r, lx.TIME_ADVERBIALS)}",
    lambda r: f"we {_pick(r, lx.VERBS_I)[1]} {_pick(r, lx.PREPOSITIONS)} {_np(r)} "
              f"{_pick(r, lx.TIME_ADVERBIALS)}",
    lambda r: f"i think {_np(r, plural=False)} is {_pick(r, lx.DEGREE)} {_pick(r, lx.ADJECTIVES)}",
    lambda r: f"{_name(r)} {_pick(r, lx.VERBS_I)[1]} to {_pick(r, lx.CITIES)} "
              f"{_pick(r, lx.TIME_ADVERBIALS)}",
    lambda r: f"there are {number_words(int(r.integers(2, 30)))} "
              f"{lx.plural(_pick(r, lx.NOUNS))} in {_np(r)}",
    lambda r: f"{_name(r)} and {_name(r)} {_pick(r, lx.VERBS_T)[1]} {_np(r)}",
    lambda r: f"it was {_pick(r, lx.ADJECTIVES)} so we {_pick(r, lx.VERBS_I)[1]} "
              f"{_pick(r, lx.ADVERBS)}",
    lambda r: f"where did {_name(r)} {_pick(r, lx.VERBS_T)[0]} {_np(r)}",
    lambda r: f"the {_pick(r, lx.NOUNS)} {_pick(r, lx.VERBS_I)[1]} {_pick(r, lx.ADVERBS)} "
              f"{_pick(r, lx.PREPOSITIONS)} {_np(r)}",
)
_SHIFT_NP = {"nouns": lx.SHIFT_NOUNS, "adjs": lx.SHIFT_ADJ}
_ASR_SHIFT = (
    lambda r: f"the {_pick(r, lx.SHIFT_ROLES)} {_pick(r, lx.SHIFT_VERBS)[1]} "
              f"{_np(r, **_SHIFT_NP)} {_pick(r, lx.TIME_ADVERBIALS)}",
    lambda r: f"has anyone {_pick(r, lx.SHIFT_VERBS)[1]} {_np(r, **_SHIFT_NP)} yet",
    lambda r: f"we need to {_pick(r, lx.SHIFT_VERBS)[0]} {_np(r, **_SHIFT_NP)} before "
              f"{_pick(r, WEEKDAYS)}",
    lambda r: f"{_np(r, plural=False, **_SHIFT_NP)} was {_pick(r, lx.SHIFT_ADJ)} according to the "
              f"{_pick(r, lx.SHIFT_ROLES)}",
    lambda r: f"can you {_pick(r, lx.SHIFT_VERBS)[0]} {_np(r, **_SHIFT_NP)} for the "
              f"{_pick(r, lx.SHIFT_NOUNS)}",
    lambda r: f"the {_pick(r, lx.SHIFT_NOUNS)} reported {number_words(int(r.integers(2, 100)))}"
              f" {lx.plural(_pick(r, lx.SHIFT_NOUNS))}",
    lambda r: f"our {_pick(r, lx.SHIFT_ADJ)} {_pick(r, lx.SHIFT_NOUNS)} is {_pick(r, lx.DEGREE)}"
              f" {_pick(r, lx.SHIFT_ADJ)}",
)


def asr_sentence(rng: np.random.Generator, shift: bool = False) -> str:
    """A 4-12 word sentence from the main (or, with `shift`, the asr_new) grammar."""
    rules = _ASR_SHIFT if shift else _ASR_MAIN
    for _ in range(20):
        text = re.sub(r"\s+", " ", _pick(rng, rules)(rng)).strip()
        if 4 <= len(text.split()) <= 12:
            return text
    return text


# ---- ER: emotion-neutral sentences shared by every class ---------------------------------------
ER_SENTENCES = tuple(s.strip() for s in """
the meeting is on thursday afternoon
i put the keys on the kitchen table
the train leaves from platform four
there are six chairs in the room
the shop closes at five today
she moved the boxes into the garage
we are having pasta for dinner
the letter arrived this morning
he works in the building across the street
the bus stops outside the library
my brother lives near the river
the report is due next week
they painted the fence last summer
the cat is sleeping on the sofa
i will call you when i get home
the book is on the second shelf
we walked to the station together
the parcel is in the hallway
the weather will change tomorrow
she bought a new coat yesterday
the film starts at eight o clock
the plates are in the top cupboard
he left his umbrella at the office
the children are at school until three
i read the message an hour ago
the garden needs water every day
we drove to the coast on saturday
the window in the kitchen is open
the phone is charging by the bed
they are moving to a new flat
the doctor will see you now
the lamp is next to the chair
i have two tickets for the concert
she is waiting outside the bank
the kettle is on the counter
we changed trains in the city
the keys were in my other coat
the car is parked behind the house
he is reading the newspaper
the lesson ends at half past two
""".strip().splitlines())

# ---- LID: simple everyday phrases per language --------------------------------------------------
LID_PHRASES: dict[str, tuple[str, ...]] = {
    "en": ("good morning how are you", "the weather is nice today", "where is the train station",
           "i would like a cup of coffee", "my brother lives in the city",
           "we are going to the beach tomorrow", "the children are playing in the garden",
           "can you help me please", "i do not understand the question",
           "the shop opens at nine o clock", "she reads a book every evening",
           "how much does this cost", "the dog is sleeping under the table",
           "we had dinner with our friends", "please close the window",
           "the museum is closed on monday", "i am learning to play the piano",
           "the bus is late again", "what time is it now", "thank you very much for your help"),
    "de": ("guten morgen wie geht es dir", "das wetter ist heute schön",
           "wo ist der bahnhof", "ich möchte eine tasse kaffee",
           "mein bruder wohnt in der stadt", "wir fahren morgen an den strand",
           "die kinder spielen im garten", "kannst du mir bitte helfen",
           "ich verstehe die frage nicht", "der laden öffnet um neun uhr",
           "sie liest jeden abend ein buch", "wie viel kostet das",
           "der hund schläft unter dem tisch", "wir haben mit unseren freunden gegessen",
           "bitte schließ das fenster", "das museum ist am montag geschlossen",
           "ich lerne klavier spielen", "der bus hat wieder verspätung", "wie spät ist es jetzt",
           "vielen dank für deine hilfe"),
    "fr": ("bonjour comment allez vous", "il fait beau aujourd'hui", "où est la gare",
           "je voudrais une tasse de café", "mon frère habite en ville",
           "nous allons à la plage demain", "les enfants jouent dans le jardin",
           "pouvez vous m'aider s'il vous plaît", "je ne comprends pas la question",
           "le magasin ouvre à neuf heures", "elle lit un livre chaque soir",
           "combien ça coûte", "le chien dort sous la table",
           "nous avons dîné avec nos amis", "fermez la fenêtre s'il vous plaît",
           "le musée est fermé le lundi", "j'apprends à jouer du piano",
           "le bus est encore en retard", "quelle heure est il", "merci beaucoup pour votre aide"),
    "es": ("buenos días cómo estás", "hoy hace buen tiempo", "dónde está la estación de tren",
           "quisiera una taza de café", "mi hermano vive en la ciudad",
           "mañana vamos a la playa", "los niños juegan en el jardín",
           "puedes ayudarme por favor", "no entiendo la pregunta",
           "la tienda abre a las nueve", "ella lee un libro cada noche", "cuánto cuesta esto",
           "el perro duerme debajo de la mesa", "cenamos con nuestros amigos",
           "cierra la ventana por favor", "el museo está cerrado los lunes",
           "estoy aprendiendo a tocar el piano", "el autobús llega tarde otra vez",
           "qué hora es ahora", "muchas gracias por tu ayuda"),
    "it": ("buongiorno come stai", "oggi il tempo è bello", "dov'è la stazione",
           "vorrei una tazza di caffè", "mio fratello abita in città",
           "domani andiamo al mare", "i bambini giocano in giardino",
           "puoi aiutarmi per favore", "non capisco la domanda",
           "il negozio apre alle nove", "lei legge un libro ogni sera", "quanto costa questo",
           "il cane dorme sotto il tavolo", "abbiamo cenato con i nostri amici",
           "chiudi la finestra per favore", "il museo è chiuso il lunedì",
           "sto imparando a suonare il pianoforte", "l'autobus è di nuovo in ritardo",
           "che ore sono adesso", "grazie mille per il tuo aiuto"),
    "nl": ("goedemorgen hoe gaat het", "het weer is mooi vandaag", "waar is het station",
           "ik wil graag een kopje koffie", "mijn broer woont in de stad",
           "morgen gaan we naar het strand", "de kinderen spelen in de tuin",
           "kun je me alsjeblieft helpen", "ik begrijp de vraag niet",
           "de winkel gaat om negen uur open", "zij leest elke avond een boek",
           "hoeveel kost dit", "de hond slaapt onder de tafel",
           "we hebben met onze vrienden gegeten", "doe alsjeblieft het raam dicht",
           "het museum is op maandag gesloten", "ik leer piano spelen",
           "de bus is weer te laat", "hoe laat is het nu", "heel erg bedankt voor je hulp"),
    "pl": ("dzień dobry jak się masz", "dzisiaj jest ładna pogoda", "gdzie jest dworzec",
           "poproszę filiżankę kawy", "mój brat mieszka w mieście",
           "jutro jedziemy nad morze", "dzieci bawią się w ogrodzie",
           "czy możesz mi pomóc", "nie rozumiem pytania", "sklep otwiera się o dziewiątej",
           "ona czyta książkę każdego wieczoru", "ile to kosztuje",
           "pies śpi pod stołem", "zjedliśmy kolację z przyjaciółmi",
           "zamknij proszę okno", "muzeum jest zamknięte w poniedziałek",
           "uczę się grać na pianinie", "autobus znowu się spóźnia",
           "która jest teraz godzina", "bardzo dziękuję za pomoc"),
}
