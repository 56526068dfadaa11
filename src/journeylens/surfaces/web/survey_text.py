"""The survey page's own words (buttons, hints, validation messages) in the survey's languages.

Survey texts come from the YAML; these are the page's chrome. Unknown languages fall back to
English. Add a language by adding one mapping.

>>> translate("nl", "Choose a whole number from 0 to 10.")
'Kies een heel getal van 0 tot 10.'
"""

from __future__ import annotations

import re

_RANGE = re.compile(r"^Choose a whole number from (-?\d+) to (-?\d+)\.$")

TEXT: dict[str, dict[str, str]] = {
    "nl": {
        "Send": "Versturen", "Save and continue later": "Opslaan en later verdergaan", "(required)": "(verplicht)",
        "Please answer this question.": "Beantwoord deze vraag alstublieft.",
        "Choose one of the listed options.": "Kies een van de opties.",
        "Choose from the listed options": "Kies uit de opties",
        "Your answers are saved. You can come back to this link later.":
            "Uw antwoorden zijn opgeslagen. U kunt later via deze link verdergaan.",
        "Please check the highlighted answers.": "Controleer de gemarkeerde antwoorden.",
        "Not at all likely": "Zeer onwaarschijnlijk", "Extremely likely": "Zeer waarschijnlijk",
        "Language": "Taal", "range": "Kies een heel getal van {0} tot {1}.",
    },
    "de": {
        "Send": "Senden", "Save and continue later": "Speichern und später fortfahren", "(required)": "(Pflicht)",
        "Please answer this question.": "Bitte beantworten Sie diese Frage.",
        "Choose one of the listed options.": "Bitte wählen Sie eine der Optionen.",
        "Choose from the listed options": "Bitte wählen Sie aus den Optionen",
        "Your answers are saved. You can come back to this link later.":
            "Ihre Antworten sind gespeichert. Sie können später über diesen Link weitermachen.",
        "Please check the highlighted answers.": "Bitte prüfen Sie die markierten Antworten.",
        "Not at all likely": "Sehr unwahrscheinlich", "Extremely likely": "Sehr wahrscheinlich",
        "Language": "Sprache", "range": "Bitte wählen Sie eine ganze Zahl von {0} bis {1}.",
    },
    "fr": {
        "Send": "Envoyer", "Save and continue later": "Enregistrer et continuer plus tard", "(required)": "(obligatoire)",
        "Please answer this question.": "Veuillez répondre à cette question.",
        "Choose one of the listed options.": "Choisissez l'une des options.",
        "Choose from the listed options": "Choisissez parmi les options",
        "Your answers are saved. You can come back to this link later.":
            "Vos réponses sont enregistrées. Vous pouvez revenir plus tard avec ce lien.",
        "Please check the highlighted answers.": "Veuillez vérifier les réponses signalées.",
        "Not at all likely": "Pas du tout probable", "Extremely likely": "Très probable",
        "Language": "Langue", "range": "Choisissez un nombre entier de {0} à {1}.",
    },
}


def translate(language: str, text: str) -> str:
    """``text`` (the English of the page) in ``language``, else unchanged."""
    words = TEXT.get(language.split("-")[0].lower())
    if not words:
        return text
    match = _RANGE.match(text)
    if match:
        return words["range"].format(match.group(1), match.group(2))
    for english, local in words.items():
        if text.startswith(english) and english != text:
            return local + text[len(english):]
    return words.get(text, text)
