"""Survey comments written from templates: theme, sentiment and language, with varied openers
and endings so that no two respondents sound quite alike.

>>> rng = np.random.default_rng(0)
>>> text = write(rng, np.array(["app_crash"]), np.array(["negative"]), np.array(["en"]))[0]
>>> any(word in text.lower() for word in ("crash", "log", "update", "6.0"))
True
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

import numpy as np

SENTIMENTS: Final = ("positive", "neutral", "negative")
LANGUAGES: Final = ("en", "nl", "de", "fr", "es")
#: Share of comments written in each language.
LANGUAGE_SHARES: Final = (0.94, 0.02, 0.015, 0.015, 0.01)

_T = dict[str, tuple[str, ...]]

ENGLISH: Final[dict[str, _T]] = {
    "general": {
        "positive": ("great service from start to finish", "everything worked the way it should",
                     "quick, simple and friendly", "really happy with the bank so far"),
        "neutral": ("it was fine, nothing special", "did the job", "okay overall, a bit slow in places"),
        "negative": ("very disappointed with the service", "it took far too long to get anything done",
                     "nobody seemed to know what was going on"),
    },
    "app": {
        "positive": ("the app is fast and easy to use", "logging in with my fingerprint takes seconds",
                     "love the spending insights in the app", "transfers in the app are instant"),
        "neutral": ("the app does what I need", "app is fine but the menus are confusing"),
        "negative": ("the app is slow to load my balance", "I could not find how to change my limit in the app"),
    },
    "app_crash": {
        "positive": ("the new app looks nice once it finally loads",),
        "neutral": ("the new app version keeps logging me out, annoying but I get in eventually",
                    "since the update I have to log in twice"),
        "negative": ("since the new app update it keeps crashing when I log in",
                     "the new version logs me out every few minutes",
                     "app 6.0 crashes on startup, I had to reinstall it twice",
                     "Face ID stopped working after the update and it keeps logging me out",
                     "the latest update broke the app, it freezes on the login screen"),
    },
    "kyc": {
        "positive": ("verifying my ID was quick", "uploading my passport photo worked first time"),
        "neutral": ("the ID check was a bit fiddly", "took a couple of tries to upload my documents"),
        "negative": ("uploading my passport photo failed three times", "the document upload kept rejecting my driving licence",
                     "the ID verification step is a nightmare, I almost gave up",
                     "the upload page timed out every time I took a photo of my ID"),
    },
    "onboarding": {
        "positive": ("opening the account online took ten minutes", "the sign-up form was clear and short"),
        "neutral": ("the application was okay but asked for a lot of information",),
        "negative": ("the application form crashed halfway and I had to start again",
                     "too many questions just to open a current account"),
    },
    "card": {
        "positive": ("my card arrived quickly", "activating the card was easy"),
        "neutral": ("the card arrived after a week",),
        "negative": ("the card took two weeks to arrive", "card activation failed and I had to call"),
    },
    "staff": {
        "positive": ("the staff in the branch were really helpful", "the advisor explained everything clearly",
                     "friendly staff and no queue"),
        "neutral": ("the branch visit was fine, a short wait", "helpful enough but the branch is always busy"),
        "negative": ("branch staff seemed rushed and unhelpful", "waited 30 minutes in the branch to be seen",
                     "my local branch has reduced its opening hours again"),
    },
    "wait": {
        "positive": ("got through quickly and the agent sorted it", "the agent on the phone was brilliant"),
        "neutral": ("the agent was helpful but the hold music went on a while",),
        "negative": ("I waited 40 minutes on hold", "the call dropped after a long wait and I had to start again",
                     "long wait times and I was passed between three departments"),
    },
    "fees": {
        "positive": ("the fees were explained clearly", "got a fee refunded without any fuss"),
        "neutral": ("the fees are what I expected",),
        "negative": ("I was charged a fee nobody told me about", "overdraft fees are far too high",
                     "hidden fees on my account again"),
    },
    "dispute": {
        "positive": ("the chat agent refunded the transaction the same day", "dispute sorted in one chat"),
        "neutral": ("the dispute is being looked at, we will see",),
        "negative": ("the chat bot could not help with my dispute and I had to repeat everything",
                     "my dispute has been open for two weeks"),
    },
    "switch": {
        "positive": ("the website did not help but the phone agent did",),
        "neutral": ("had to phone in the end but it got sorted",),
        "negative": ("the website could not help so I had to call, then wait on hold",
                     "I tried the chat first and still ended up having to phone",
                     "why can I not do this online? I had to call and explain it all again"),
    },
    "complaint": {
        "positive": ("my complaint was handled fairly",),
        "neutral": ("the complaint was resolved but it took a while",),
        "negative": ("my complaint has been open for weeks with no update", "nobody calls back about my complaint",
                     "the response to my complaint was a standard letter that ignored the problem"),
    },
    "offer": {
        "positive": ("good rate on the renewal", "the upgrade offer was worth it"),
        "neutral": ("the renewal offer was average",),
        "negative": ("the renewal offer was not competitive", "other banks are offering much better rates"),
    },
    "closure": {
        "positive": ("closing the account was easy",),
        "neutral": ("moving to another bank, nothing personal",),
        "negative": ("closing my account was a hassle", "leaving because of the fees and the poor app",
                     "moving to a bank that answers the phone"),
    },
    "employee": {
        "positive": ("good team and a supportive manager", "I like that we can fix things for customers"),
        "neutral": ("the job is fine, the systems are old",),
        "negative": ("too many systems to log into to help one customer", "the call centre is understaffed, queues every day",
                     "customers shout at us about the new app and we cannot fix it"),
    },
}

FOREIGN: Final[dict[str, _T]] = {
    "nl": {"positive": ("Snelle en vriendelijke service, top!", "Heel tevreden over de hulp die ik kreeg."),
           "neutral": ("Het was oké, niets bijzonders.",),
           "negative": ("De app crasht steeds sinds de update.", "Ik heb veel te lang in de wacht gestaan.",
                        "Verborgen kosten op mijn rekening, heel vervelend.")},
    "de": {"positive": ("Sehr freundliche Beratung in der Filiale.", "Alles schnell und unkompliziert erledigt."),
           "neutral": ("War in Ordnung, nichts Besonderes.",),
           "negative": ("Die App stürzt seit dem Update ständig ab.", "Viel zu lange Wartezeit am Telefon.",
                        "Versteckte Gebühren, sehr ärgerlich.")},
    "fr": {"positive": ("Service rapide et efficace, merci beaucoup.", "Conseiller très aimable et compétent."),
           "neutral": ("C'était correct, sans plus.",),
           "negative": ("L'application plante sans arrêt depuis la mise à jour.", "Trop d'attente au téléphone.",
                        "Des frais cachés sur mon compte, c'est inacceptable.")},
    "es": {"positive": ("Muy buena atención, gracias.", "Todo fue rápido y sencillo."),
           "neutral": ("Estuvo bien, nada especial.",),
           "negative": ("La aplicación se cierra sola desde la actualización.", "Esperé demasiado tiempo al teléfono.",
                        "Comisiones ocultas en mi cuenta, muy molesto.")},
}

_OPENERS: Final = {"positive": ("", "Honestly, ", "Have to say ", "Really pleased: "),
                   "neutral": ("", "To be fair, ", "Meh, "),
                   "negative": ("", "Not happy: ", "Seriously, ", "Again ")}
_ENDINGS: Final = {"positive": (".", "!", ". Thanks!", ". Keep it up."),
                   "neutral": (".", ". Could be better.", ""),
                   "negative": (".", "!", ". Please fix this.", ". Thinking of leaving.", "!!")}


def _sentence(opener: str, body: str, ending: str) -> str:
    text = opener + body + ending
    return text[0].upper() + text[1:]


@lru_cache(maxsize=1)
def _bank() -> dict[tuple[str, str, str], np.ndarray]:
    bank: dict[tuple[str, str, str], np.ndarray] = {}
    for theme, by_sentiment in ENGLISH.items():
        for sentiment, bodies in by_sentiment.items():
            bank[(theme, sentiment, "en")] = np.array(
                [_sentence(o, b, e) for b in bodies for o in _OPENERS[sentiment] for e in _ENDINGS[sentiment]],
                dtype=object)
    for language, by_sentiment in FOREIGN.items():
        for sentiment, texts in by_sentiment.items():
            bank[("any", sentiment, language)] = np.array(texts, dtype=object)
    return bank


def english_templates(sentiment: str) -> list[str]:
    """Every distinct English comment the generator can write for ``sentiment`` (sorted)."""
    return sorted({str(t) for (_, written, language), options in _bank().items()
                   if written == sentiment and language == "en" for t in options})


def write(rng: np.random.Generator, themes: np.ndarray, sentiments: np.ndarray,
          languages: np.ndarray) -> np.ndarray:
    """One comment per row (object array of str). Non-English comments use generic templates."""
    bank = _bank()
    out = np.empty(len(themes), dtype=object)
    group = np.where(languages == "en", themes, "any")
    keys = np.char.add(np.char.add(group.astype(str), "|"), np.char.add(np.char.add(sentiments.astype(str), "|"), languages.astype(str)))
    for key in np.unique(keys):
        rows = np.flatnonzero(keys == key)
        theme, sentiment, language = key.split("|")
        options = bank[(theme, sentiment, language)]
        out[rows] = options[rng.integers(0, len(options), len(rows))]
    return out
