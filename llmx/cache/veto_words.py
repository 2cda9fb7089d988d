"""Word tables for the semantic veto (``llmx.cache.veto``): number words, scales,
opposite pairs, phrasal on/off verbs, negating prefixes, direction words and units.
Pure data, standard library only."""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

NUMBER_WORDS: Final = MappingProxyType({
    "zero": 0, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "dozen": 12,
    "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
    "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    "hundred": 100,
})
SCALES: Final = MappingProxyType({
    "k": 1_000, "thousand": 1_000, "million": 1_000_000, "mn": 1_000_000,
    "billion": 1_000_000_000, "bn": 1_000_000_000,
})

# Opposite pairs by base form; a word may be in several pairs.
OPPOSITES: Final = (
    ("enable", "disable"), ("activate", "deactivate"), ("allow", "deny"),
    ("allow", "block"), ("permit", "forbid"), ("accept", "reject"), ("approve", "reject"),
    ("accept", "decline"), ("add", "remove"), ("add", "delete"), ("add", "subtract"),
    ("create", "delete"), ("create", "destroy"), ("insert", "delete"), ("install", "remove"),
    ("start", "stop"), ("start", "end"), ("start", "finish"), ("begin", "end"),
    ("open", "close"), ("lock", "unlock"), ("show", "hide"), ("include", "exclude"),
    ("increase", "decrease"), ("increase", "reduce"), ("raise", "lower"),
    ("maximum", "minimum"), ("max", "min"), ("maximize", "minimize"),
    ("more", "less"), ("more", "fewer"), ("most", "least"), ("before", "after"),
    ("above", "below"), ("over", "under"), ("high", "low"), ("higher", "lower"),
    ("highest", "lowest"), ("upper", "lower"), ("uppercase", "lowercase"),
    ("fast", "slow"), ("faster", "slower"), ("fastest", "slowest"), ("quick", "slow"),
    ("good", "bad"), ("better", "worse"), ("best", "worst"), ("big", "small"),
    ("bigger", "smaller"), ("biggest", "smallest"), ("large", "small"),
    ("larger", "smaller"), ("largest", "smallest"), ("long", "short"),
    ("longer", "shorter"), ("longest", "shortest"), ("old", "new"), ("older", "newer"),
    ("oldest", "newest"), ("earliest", "latest"), ("first", "last"), ("cheap", "expensive"),
    ("cheaper", "pricier"), ("cheapest", "priciest"), ("true", "false"),
    ("positive", "negative"), ("success", "failure"), ("succeed", "fail"), ("pass", "fail"),
    ("win", "lose"), ("buy", "sell"), ("import", "export"), ("upload", "download"),
    ("upgrade", "downgrade"), ("push", "pull"), ("send", "receive"), ("read", "write"),
    ("encrypt", "decrypt"), ("encode", "decode"), ("compress", "decompress"),
    ("serialize", "deserialize"), ("connect", "disconnect"), ("mount", "unmount"),
    ("input", "output"), ("inbound", "outbound"), ("incoming", "outgoing"),
    ("ascending", "descending"), ("asc", "desc"), ("left", "right"),
    ("north", "south"), ("east", "west"), ("inside", "outside"), ("internal", "external"),
    ("inner", "outer"), ("public", "private"), ("local", "remote"), ("client", "server"),
    ("synchronous", "asynchronous"), ("sync", "async"), ("horizontal", "vertical"),
    ("row", "column"), ("width", "height"), ("top", "bottom"), ("head", "tail"),
    ("prefix", "suffix"), ("forward", "backward"), ("odd", "even"), ("hot", "cold"),
    ("light", "dark"), ("day", "night"), ("male", "female"), ("men", "women"),
    ("advantage", "disadvantage"), ("pro", "con"), ("strength", "weakness"),
    ("always", "never"), ("all", "none"), ("min", "maximum"), ("max", "minimum"),
)
# "turn on" = enable, "switch off" = disable
PHRASAL: Final = frozenset({"turn", "turns", "turned", "turning",
                             "switch", "switches", "switched", "switching"})
NEGATING_PREFIXES: Final = ("un", "dis", "de", "in", "im", "il", "ir", "non", "anti")
DIRECTION_WORDS: Final = frozenset({"to", "into", "from", "than"})
SKIP_AFTER: Final = frozenset({"the", "a", "an", "my", "your", "our", "their", "its", "this"})

UNITS: Final = MappingProxyType({
    **dict.fromkeys(("km", "kilometer", "kilometre", "kilometers", "kilometres"), "km"),
    **dict.fromkeys(("mile", "miles"), "mile"),
    **dict.fromkeys(("meter", "metre", "meters", "metres"), "m"),
    **dict.fromkeys(("cm", "centimeter", "centimeters", "centimetre", "centimetres"), "cm"),
    **dict.fromkeys(("mm", "millimeter", "millimeters", "millimetre", "millimetres"), "mm"),
    **dict.fromkeys(("inch", "inches"), "inch"),
    **dict.fromkeys(("ft", "foot", "feet"), "ft"),
    **dict.fromkeys(("yard", "yards"), "yard"),
    **dict.fromkeys(("kg", "kilogram", "kilograms", "kilo", "kilos"), "kg"),
    **dict.fromkeys(("gram", "grams"), "g"),
    **dict.fromkeys(("lb", "lbs", "pound", "pounds"), "lb"),
    **dict.fromkeys(("oz", "ounce", "ounces"), "oz"),
    **dict.fromkeys(("liter", "litre", "liters", "litres"), "l"),
    **dict.fromkeys(("milliliter", "milliliters", "millilitre", "millilitres"), "ml"),
    **dict.fromkeys(("gallon", "gallons"), "gallon"),
    **dict.fromkeys(("celsius", "centigrade"), "celsius"),
    "fahrenheit": "fahrenheit", "kelvin": "kelvin",
    **dict.fromkeys(("millisecond", "milliseconds"), "ms"),
    **dict.fromkeys(("sec", "secs", "second", "seconds"), "s"),
    **dict.fromkeys(("minute", "minutes", "mins"), "minute"),
    **dict.fromkeys(("hour", "hours"), "hour"),
    **dict.fromkeys(("week", "weeks"), "week"),
    **dict.fromkeys(("month", "months"), "month"),
    **dict.fromkeys(("year", "years", "yr", "yrs"), "year"),
    **dict.fromkeys(("byte", "bytes"), "byte"),
    **dict.fromkeys(("bit", "bits"), "bit"),
    "kb": "kb", "mb": "mb", "gb": "gb", "tb": "tb", "kib": "kb", "mib": "mb",
    "gib": "gb", "tib": "tb", "kbps": "kbps", "mbps": "mbps", "gbps": "gbps",
    **dict.fromkeys(("usd", "dollar", "dollars", "$"), "usd"),
    **dict.fromkeys(("eur", "euro", "euros", "€"), "eur"),
    **dict.fromkeys(("gbp", "£", "sterling"), "gbp"),
    **dict.fromkeys(("yen", "jpy", "¥"), "jpy"),
    **dict.fromkeys(("inr", "rupee", "rupees"), "inr"),
    **dict.fromkeys(("btc", "bitcoin", "bitcoins"), "btc"),
    **dict.fromkeys(("percent", "percentage", "%"), "percent"),
    **dict.fromkeys(("watt", "watts", "kw", "kwh", "kilowatt", "kilowatts"), "power"),
    **dict.fromkeys(("volt", "volts"), "volt"),
    **dict.fromkeys(("hz", "khz", "mhz", "ghz", "hertz"), "hz"),
    **dict.fromkeys(("px", "pixel", "pixels"), "px"),
    **dict.fromkeys(("calorie", "calories", "kcal"), "kcal"),
    **dict.fromkeys(("degree", "degrees", "°"), "degree"),
})
