"""detect_language on short texts in several languages and scripts."""

from __future__ import annotations

import pytest

from workers.stages.language import detect_language, dominant_script


@pytest.mark.parametrize(
    ("text", "code", "script"),
    [
        ("The government announced new measures on Tuesday to curb rising energy prices across the country.", "en", "Latn"),
        ("रूस के राष्ट्रपति पुतिन ने पहली बार यूक्रेन युद्ध के लिए किसी देश की मदद मांगी है।", "hi", "Deva"),
        ("Die Bundesregierung hat am Dienstag neue Maßnahmen gegen die steigenden Energiepreise beschlossen.", "de", "Latn"),
        ("Правительство во вторник объявило о новых мерах по сдерживанию роста цен на энергоносители.", "ru", "Cyrl"),
        ("政府は火曜日、エネルギー価格の上昇を抑えるための新たな対策を発表した。", "ja", "Jpan"),
        ("정부는 화요일 에너지 가격 상승을 억제하기 위한 새로운 대책을 발표했다.", "ko", "Kore"),
        ("政府周二宣布了遏制能源价格上涨的新措施，这些措施将在下个月生效。", "zh", "Hans"),
        ("সরকার মঙ্গলবার জ্বালানির দাম বৃদ্ধি রোধে নতুন পদক্ষেপ ঘোষণা করেছে।", "bn", "Beng"),
        ("அரசு செவ்வாய்க்கிழமை எரிசக்தி விலை உயர்வைக் கட்டுப்படுத்த புதிய நடவடிக்கைகளை அறிவித்தது.", "ta", "Taml"),
    ],
)
def test_language_and_script(text, code, script):
    result = detect_language(text)
    assert (result.code, result.script) == (code, script)
    assert 0.5 < result.confidence <= 1.0
    assert not result.mixed


def test_empty_or_letterless_text_is_undetermined():
    for text in ("", "   ", "12345 -- !!", None):
        result = detect_language(text)
        assert (result.code, result.script, result.confidence) == ("und", "Zyyy", 0.0)


def test_two_languages_in_one_text_are_mixed():
    hindi = "रूस के राष्ट्रपति पुतिन ने पहली बार यूक्रेन युद्ध के लिए किसी देश की मदद मांगी है। अमेरिका के खुफिया विभाग के दावे के अनुसार यह पत्र लिखा गया।"
    english = "The White House said on Wednesday that it had new intelligence about an exchange of letters between the two leaders."
    result = detect_language(hindi + " " + english)
    assert result.code == "hi"
    assert result.mixed


def test_control_characters_and_lone_surrogates_do_not_break_detection():
    assert detect_language("The minister\x00 said on \ud800Tuesday that the talks would continue next week.").code == "en"


def test_short_title_case_headline_falls_back_to_a_real_language():
    assert detect_language("Former India Batsman Joins State Congress Party").code == "en"


def test_dominant_script_ignores_digits_and_punctuation():
    assert dominant_script("2024: नई दिल्ली, भारत!") == "Deva"
