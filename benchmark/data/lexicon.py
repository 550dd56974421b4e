"""Word lists shared by the English grammars (see `sentences.py`).

Everything is lower case and already normalised (a-z, apostrophe, spaces) so that the text that
espeak speaks is exactly the text stored in the manifest. Two disjoint-ish vocabularies exist:
the *main* one (daily life, news, home) and the *shift* one (health, science, technology, travel
logistics) used by `asr_new`, so the adaptation subset is a genuine domain shift.
"""
from __future__ import annotations


def _w(s: str) -> tuple[str, ...]:
    return tuple(s.split())


def _pairs(s: str) -> tuple[tuple[str, str], ...]:
    """'go:went see:saw' -> (('go','went'), ('see','saw'))."""
    return tuple(tuple(p.split(":")) for p in s.split())  # type: ignore[misc]


# ---- main domain --------------------------------------------------------------------------------
NOUNS = _w("""
apple answer arm baby bag ball bank basket bath beach bed bell bicycle bird blanket boat book
bottle box boy bread bridge brother brush bucket building bus butter button cake camera candle
car card carpet castle cat chair cheese chicken child church city clock cloud coat coffee coin
computer cook corner cousin cow cup curtain desk dinner doctor dog door dress drink driver duck
egg engine evening face factory family farm farmer father field finger fire fish flag floor
flower forest fork friend fruit game garden gate gift girl glass glove goat grass guitar hair
hammer hand hat head heart hill horse hospital hotel house island jacket jar kettle key kitchen
knife ladder lake lamp lawyer leaf letter library light lion map market meal meeting message
milk minute mirror money monkey month moon morning mother mountain mouse museum music neighbour
nest newspaper night nurse ocean office orange painter paper park party pencil person phone
piano picture pillow plane plant plate player pocket police pool potato present president
prince printer question rabbit radio river road roof room rope sailor salt sandwich school
scientist sea seat sheep shelf ship shirt shoe shop singer sister sky soldier song soup spoon
square stamp star station stone store story street student sugar summer sun table tail teacher
team telephone tent theatre ticket tiger toast tomato tooth tower town toy train tree truck
umbrella uncle valley village violin wall wallet watch water wave weather week wheel window
winter woman word worker world writer year garage cupboard bakery pharmacy airport harbour
stadium bench fountain festival concert lesson holiday journey picnic parcel envelope receipt
blender sweater scarf notebook backpack suitcase pillowcase carrot onion pepper lemon cherry
pear peach biscuit pancake noodle pizza salad bean cookie dessert breakfast lunch supper
""")
IRREGULAR_PLURALS = {"child": "children", "person": "people", "woman": "women", "man": "men",
                     "mouse": "mice", "tooth": "teeth", "sheep": "sheep", "fish": "fish",
                     "leaf": "leaves", "knife": "knives", "shelf": "shelves", "wife": "wives",
                     "potato": "potatoes", "scarf": "scarves", "tomato": "tomatoes"}
VERBS_T = _pairs("""
bring:brought build:built buy:bought carry:carried catch:caught clean:cleaned close:closed
cook:cooked cut:cut draw:drew drop:dropped fill:filled find:found fix:fixed follow:followed
forget:forgot hold:held keep:kept kick:kicked leave:left lift:lifted like:liked lose:lost
love:loved make:made mend:mended move:moved need:needed open:opened order:ordered paint:painted
pass:passed pick:picked pull:pulled push:pushed read:read remember:remembered sell:sold
send:sent share:shared show:showed sign:signed take:took throw:threw touch:touched wash:washed
watch:watched wrap:wrapped write:wrote check:checked borrow:borrowed count:counted hide:hid
visit:visited deliver:delivered describe:described explain:explained finish:finished
prepare:prepared protect:protected return:returned weigh:weighed test:tested
""")
VERBS_I = _pairs("""
arrive:arrived begin:began cry:cried dance:danced fall:fell laugh:laughed listen:listened
rest:rested run:ran shout:shouted sing:sang sit:sat sleep:slept smile:smiled stand:stood
stay:stayed swim:swam talk:talked travel:travelled wait:waited walk:walked work:worked
wake:woke play:played jump:jumped cheer:cheered agree:agreed complain:complained
""")
ADJECTIVES = _w("""
big small old new young tall short long wide narrow heavy light dark bright clean dirty cold
warm hot cool quiet loud soft hard happy sad busy lazy brave calm clever kind polite rude
strange funny famous rich poor empty full fresh sweet bitter cheap expensive early late easy
difficult simple modern ancient broken wooden golden silver green blue red yellow white black
brown purple pink grey round square flat smooth rough sharp tiny huge lovely ugly pretty
beautiful friendly angry tired hungry thirsty careful noisy sleepy shiny dusty rusty wet dry
strong weak slow fast gentle proud shy nervous lucky useful ready
""")
ADVERBS = _w("""
quickly slowly carefully quietly loudly happily sadly suddenly finally usually often always
never sometimes nearly almost really very quite rather gently easily badly politely
""")
DEGREE = _w("very quite rather really too so fairly")
TIME_ADVERBIALS = ("yesterday", "today", "last night", "this morning", "last week",
                   "on monday", "on friday", "after lunch", "before dinner", "at the weekend",
                   "in the afternoon", "every day", "last summer", "next week", "tonight",
                   "early in the morning", "late at night", "on sunday evening")
PREPOSITIONS = _w("in on under behind near beside inside across over into from")
FIRST_NAMES = _w("""
alice anna ben charlie daniel david emma ella frank george grace hannah harry henry isabel jack
james jane john julia kate laura leo lily lucy mark mary max mia nathan nina oliver olivia paul
peter rachel robert rose ruby sam sarah simon sophie thomas tom victor william zoe adam amy
chloe edward helen ian james jessica kevin linda martin michael nora oscar patrick rebecca
""")
SURNAMES = _w("""
smith jones taylor brown wilson evans thomas johnson roberts walker wright robinson thompson
white hughes edwards green hall wood harris lewis martin jackson clarke clark turner hill scott
cooper morris ward moore king watson baker harrison morgan patel young allen mitchell
""")
CITIES = _w("""
london paris berlin madrid rome lisbon dublin glasgow edinburgh manchester liverpool leeds
bristol cardiff oxford cambridge york bath brighton boston chicago denver seattle atlanta dallas
houston miami phoenix toronto vancouver montreal sydney melbourne auckland tokyo seoul delhi
cairo nairobi lagos vienna prague warsaw oslo stockholm helsinki amsterdam brussels geneva
zurich milan naples venice florence athens
""")
RELATIONS = _w("mother father sister brother aunt uncle cousin friend neighbour grandmother "
               "grandfather boss teacher colleague")

# ---- shift domain (asr_new) --------------------------------------------------------------------
SHIFT_NOUNS = _w("""
patient clinic symptom fever infection vaccine tablet dose prescription surgeon therapist
diagnosis allergy injury bandage ambulance ward scan sample virus cell protein
molecule experiment laboratory microscope hypothesis theory result measurement sensor battery
circuit processor server database network password software update algorithm satellite
telescope planet galaxy orbit rocket engine turbine voltage signal antenna screen keyboard
laptop router cable platform passenger luggage terminal runway departure arrival
schedule timetable connection carriage conductor customs passport visa boarding gate delay
warehouse shipment container invoice contract budget deadline report spreadsheet survey
""")
SHIFT_ADJ = _w("""
chronic acute mild severe sterile digital wireless remote secure encrypted efficient reliable
accurate unstable stable delayed cancelled urgent routine optional mandatory detailed technical
scientific medical electrical mechanical annual monthly weekly international domestic renewable
""")
SHIFT_VERBS = _pairs("""
analyse:analysed measure:measured install:installed reboot:rebooted upload:uploaded
download:downloaded configure:configured diagnose:diagnosed prescribe:prescribed
examine:examined monitor:monitored replace:replaced calibrate:calibrated schedule:scheduled
cancel:cancelled confirm:confirmed inspect:inspected approve:approved review:reviewed
publish:published record:recorded transfer:transferred encrypt:encrypted
""")
SHIFT_ROLES = _w("nurse engineer technician researcher pilot pharmacist manager analyst "
                 "inspector developer professor officer")


def plural(noun: str) -> str:
    """Regular English plural with the few irregular forms the lexicon uses."""
    if noun in IRREGULAR_PLURALS:
        return IRREGULAR_PLURALS[noun]
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def vocabulary() -> set[str]:
    """Every word the English grammars can produce from these lists (for the data card)."""
    words: set[str] = set()
    for group in (NOUNS, ADJECTIVES, ADVERBS, DEGREE, PREPOSITIONS, FIRST_NAMES, SURNAMES, CITIES,
                  RELATIONS, SHIFT_NOUNS, SHIFT_ADJ, SHIFT_ROLES):
        words.update(group)
    words.update(plural(n) for n in NOUNS + SHIFT_NOUNS)
    for pairs in (VERBS_T, VERBS_I, SHIFT_VERBS):
        for base, past in pairs:
            words.update((base, past))
    for phrase in TIME_ADVERBIALS:
        words.update(phrase.split())
    return words
