"""Recognising the kinds of non-article lines that text scrapes of news pages carry.

Each pattern is matched against one stripped line. The phrase lists cover English, Hindi and the other
languages seen in the development data; they are phrases a page uses *about itself* (credits, "also read",
"recent posts"), never topic words, so they rarely occur as a whole line of an article.
"""

from __future__ import annotations

import re
import unicodedata

# Whitespace-separated tokens with a letter or digit (\w alone splits Indic words at their vowel signs).
_WORD = re.compile(r"\S*\w\S*")

# Sentence-final punctuation across scripts, optionally followed by closing quotes/brackets.
_SENTENCE_END = re.compile(r"[.!?।॥։۔。！？][\"'”’»)\]]*$|[\"'”’»)\]]$")
_ELLIPSIS_END = re.compile(r"(…|\.\.\.)[\"'”’»)\]]*$")

# "Photo" in the other Indian languages of the pipeline (bn, gu, mr, ta, te, kn, ml, pa, or, ur).
_INDIC_PHOTO = unicodedata.normalize("NFC", (
    r"|ছবি|ফটো|તસવીર|ફોટો|छायाचित्र|படம்|புகைப்படம்|ఫోటో|చిత్రం|ಚಿತ್ರ|ಫೋಟೋ|ചിത്രം|ഫോട്ടോ|ਤਸਵੀਰ|ਫੋਟੋ|ଫଟୋ|ଚିତ୍ର|تصویر"
))

# Image/photo credit lines: "Image Source : AP", "Photo: Reuters", "छवि स्रोत: ...", "Foto - dpa". A hyphen
# counts as the separator only before a space or the end: "Picture-in-Picture" is a compound word.
_CREDIT_SEPARATOR = r"\s*(?:[:：|]|-(?!\w))"
CREDIT = re.compile(
    r"^(?:(?:crédits?|credits?|créditos?)\s+(?:photos?|images?|fotos?)" + _CREDIT_SEPARATOR +
    r"|(?:image|photo|picture|pic|file photo|foto|bild|imagen|immagine|фото|图片|写真"
    r"|फोटो|फ़ोटो|तस्वीर|चित्र|छवि|इमेज" + _INDIC_PHOTO + ")"
    r"\s*(?:source|credit|credits|courtesy|स्रोत|सोर्स|साभार|क्रेडिट|quelle|crédit|crédito|fuente|fonte)?" + _CREDIT_SEPARATOR + ")",
    re.IGNORECASE,
)
# A credit line this short is the credit alone ("Image Source : PTI", "Foto: dpa / Michael Kappeler"), and
# the caption follows it; a longer one carries its caption ("तस्वीर: रिवरफ्रन्ट पर उड़ते पतंग"), and what
# follows is the article again.
CREDIT_ONLY_MAX_WORDS = 5

CREDIT_SUFFIX = re.compile(r"\((?:photo|image|foto|file|फोटो|फाइल फोटो)[^)]{0,40}\)$|(?:getty images|/ ?afp|/ ?reuters|/ ?ap)$", re.IGNORECASE)

# "Also read" in the other Indian languages of the pipeline (bn, gu, mr, ta, te, kn, ml, pa, or, ur). NFC, as
# the text is: letters with nukta (Bengali ড়, Odia ଢ଼) have no composed NFC form.
_INDIC_RELATED = unicodedata.normalize("NFC", (
    r"|আরও পড়ুন|আরো পড়ুন|এটাও পড়ুন|আরও খবর|সম্পর্কিত খবর|આ પણ વાંચો|વધુ વાંચો"
    r"|हेही वाचा|हे पण वाचा|हे देखील वाचा|अधिक वाचा|இதையும் படிக்க|இதையும் படிங்க|இதையும் படியுங்கள்|மேலும் படிக்க"
    r"|தொடர்புடைய செய்திகள்|ఇది కూడా చదవండి|ఇవి కూడా చదవండి|ಇದನ್ನೂ ಓದಿ|ഇതുകൂടി വായിക്കുക|ഇതും വായിക്കുക"
    r"|ਇਹ ਵੀ ਪੜ੍ਹੋ|ଏହା ବି ପଢ଼ନ୍ତୁ|ଆହୁରି ପଢ଼ନ୍ତୁ|یہ بھی پڑھیں"
))

# "Also read" markers; the marker may stand alone or lead a linked headline ("Also Read: ...").
RELATED_MARKER = re.compile(
    r"^(?:also read|read also|read more|more on this|see also|related|related (?:news|articles?|stories|posts|coverage)"
    r"|recommended(?: for you)?|you may (?:also )?like|suggested reading|don'?t miss|must read|watch"
    r"|यह भी पढ़ें|ये भी पढ़ें|इसे भी पढ़ें|इन्हें भी पढ़ें|यह भी पढ़े|ये भी पढ़े|और पढ़ें|ज़रूर पढ़ें|जरूर पढ़ें|संबंधित खबरें|संबंधित ख़बरें"
    r"|lesen sie auch|lest auch|mehr zum thema|auch interessant|das könnte sie auch interessieren"
    r"|lire aussi|à lire aussi|a lire aussi|voir aussi|sur le même sujet"
    r"|lee también|leer también|lea también|vea también|ver también|(?:también )?(?:te|le) puede interesar|leia também|veja também|leggi anche|vedi anche"
    r"|читайте также|см\. также|czytaj (?:też|także|więcej)|läs också|les også|læs også|lees ook|devamını oku"
    + _INDIC_RELATED +
    # Bengali, Gujarati and Devanagari writers often put a visarga (ঃ ઃ ः) where a colon goes.
    r")\s*(?:[:：|>»ঃઃः-]\s*(?P<headline>.+)?)?$",
    re.IGNORECASE,
)

# Headers of lists that follow the article: everything after them is site furniture.
LIST_HEADER = re.compile(
    r"^(?:recent posts|recent news|latest (?:posts|news|stories|articles)|trending(?: now| news| topics| stories)?"
    r"|more from .{1,40}|more stories|more news|most (?:read|popular|viewed|shared)|popular(?: posts| stories| news)?"
    r"|top stories|editor'?s picks|web stories|you might also like|related posts|tags?|topics|comments?|share this(?: article)?"
    r"|follow us(?: on .{1,30})?|newsletter|footer"
    r"|ताज़ा खबरें|ताजा खबरें|ताज़ा ख़बरें|ट्रेंडिंग|टॉप स्टोरी(?:ज़)?|लेटेस्ट न्यूज़?|सबसे ज्यादा पढ़ी गई|वेब स्टोरीज?"
    r"|weitere (?:themen|beiträge|artikel|nachrichten|meldungen)|meistgelesen(?:e artikel)?|quellen|sources"
    r"|les plus lus|lo más leído|más noticias|(?:notas|noticias|artículos) relacionad[oa]s|más sobre .{1,40}|più letti|mais lidas|mest lest|mest läst|mest læste|najczęściej czytane"
    r"|zobacz (?:też|także)|en çok okunanlar)\s*:?$",
    re.IGNORECASE,
)

# Section labels such as "Latest World News"; the group is the section name.
SECTION_LABEL = re.compile(r"^(?:latest|more|top)\s+((?:\w[\w&-]*\s+){0,2}\w[\w&-]*)\s+(?:news|stories)$", re.IGNORECASE)

# Advertisement labels standing alone on a line.
AD_LABEL = re.compile(
    r"^(?:advertisement|advertising|sponsored content|anzeige|werbung|publicité|publicidad|pubblicità|publicidade"
    r"|reklama|reklam|annonse|annons|annonce|реклама|विज्ञापन|广告|広告|광고)$",
    re.IGNORECASE,
)

# A share bar: a "share" label and the networks' names, alone on a line or in one block. In a text scrape
# each stands on a line of its own, short and costly, between the standfirst and the body.
_SHARE_WORD = unicodedata.normalize("NFC", (
    r"(?:share(?: this| on)?(?: article| story| post)?|whatsapp|facebook|twitter|x|telegram|linkedin|pinterest|reddit"
    r"|e-?mail|copy link|print|koo|teilen|partager|compartir|condividi|compartilhar|udostępnij|поделиться"
    r"|शेयर करें|शेयर|इस खबर को शेयर करें|শেয়ার করুন|শেয়ার|શેર કરો|શેર|பகிர்|பகிரவும்|शेअर करा|షేర్ చేయండి"
    r"|ಹಂಚಿಕೊಳ್ಳಿ|ഷെയർ ചെയ്യുക|ਸਾਂਝਾ ਕਰੋ)"
))
SHARE_BAR = re.compile(rf"^{_SHARE_WORD}(?:\s*[:|·•,]?\s*{_SHARE_WORD})*\s*:?$", re.IGNORECASE)

# Relative timestamps and bare update stamps.
TIMESTAMP = re.compile(
    r"(?:^|\s)(?:\d+|an?|one|few)\s+(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?)\s+ago$"
    r"|(?:सेकंड|मिनट|घंटे|घंटा|दिन|हफ्ते|सप्ताह|महीने|साल|क्षण)\s+(?:पहले|पूर्व)$"
    r"|^(?:updated|published|posted|last updated|आखरी अपडेट|अपडेटेड|प्रकाशित)\s*(?:on|at)?\s*:",
    re.IGNORECASE,
)
# A live blog's entry stamp: a clock time (digits of any script) with at most two words around it ("10:30 AM",
# "সকাল ১০:৩০", "सुबह 9:15 बजे"); not "9.15" ("at 6.25 percent" is a figure). In a text scrape stamps also
# stand between the headlines of link lists, so there they still cost in the block selection and are only
# left out of the body (as free noise the run reached into the list: fundus LBC page 1.00 -> 0.84).
CLOCK_STAMP = re.compile(r"^(?:\S+\s+){0,2}\d{1,2}:\d{2}(?:\s+\S+){0,2}$")

# Calls to action of the publisher's own promotion. Written in lower case and searched in lower-cased text
# (`is_promo`): searched case-insensitively, the unanchored alternatives cost six times as much.
_PROMO = re.compile(
    r"click here|क्लिक करें|subscribe (?:to|now)|sign up (?:for|to)|download (?:the|our) .{0,30}app|ऐप डाउनलोड"
    r"|follow (?:us|\w+(?: \w+)?) on (?:instagram|facebook|twitter|x|youtube|tiktok|linkedin|whatsapp|telegram)|follow us on|s[ií]guenos en|suivez-nous|folgen sie uns|seguici su|siga-nos|फॉलो करें"
    r"|join (?:us|our) .{0,30}(?:whatsapp|telegram|channel)|nuestro canal de|canal de (?:telegram|whatsapp)|व्हाट्सएप चैनल"
    r"|already a subscriber"
    r"|all rights reserved|copyright ©|©\s*\d{4}|cookie policy|privacy policy|terms (?:of use|&|and) "
)


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens, for comparing lines regardless of spacing and punctuation."""
    return re.findall(r"\w+", text.lower())


def word_count(line: str) -> int:
    return len(_WORD.findall(line))


def is_cjk_like(line: str) -> bool:
    """Scripts written without spaces: judge their length in characters, not words."""
    return sum(1 for char in line if "\u3040" <= char <= "\u9fff" or "\uac00" <= char <= "\ud7af") > len(line) / 3


def ends_like_sentence(line: str) -> bool:
    return bool(_SENTENCE_END.search(line)) and not _ELLIPSIS_END.search(line)


def is_promo(line: str) -> bool:
    return bool(_PROMO.search(line.lower()))


def is_teaser(line: str) -> bool:
    """A truncated summary ending with an ellipsis, as in lists of other stories."""
    return bool(_ELLIPSIS_END.search(line))


def is_paragraph_shaped(line: str) -> bool:
    """Running text: a sentence-final ending and some length, or simply long."""
    if is_cjk_like(line):
        return len(line) >= 60 or (len(line) >= 25 and ends_like_sentence(line))
    words = word_count(line)
    return words >= 30 or (words >= 8 and ends_like_sentence(line))


def section_from_label(line: str) -> str | None:
    match = SECTION_LABEL.match(line.strip())
    return match.group(1) if match else None
