"""Near-duplicate detection: tokenisation, signatures, and a synthetic syndication set (written for these tests).

The synthetic stories come in same-topic groups (two flood stories from one city quoting the same mayor, two
budget stories, two Hindi monsoon stories quoting the same weather office, a Hindi cricket story); copies
carry the edits syndication makes. Every copy must match its story and no two stories may merge.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from itertools import combinations

import orjson
import pytest

from workers.evaluation import dedup as dedup_eval
from workers.stages import dedup

MAYOR_QUOTE = (
    '"We will not leave a single family without a roof tonight, and every shelter in the city will stay open '
    'until the last street is dry again," Mayor Helen Ortiz told reporters outside the emergency centre.'
)
IMD_QUOTE = (
    '"अगले अड़तालीस घंटों में उत्तर और मध्य भारत के कई जिलों में भारी से बहुत भारी बारिश हो सकती है, इसलिए लोग '
    'नदियों और नालों के पास न जाएं," मौसम विभाग के वरिष्ठ वैज्ञानिक ने बुधवार को पत्रकारों से कहा।'
)

STORIES = {
    "flood-river": [
        "The Millbrook river burst its banks early on Tuesday after three days of heavy rain, flooding more than "
        "four hundred homes in the eastern districts of the city and cutting the main road to the airport.",
        "Fire crews used boats to reach residents trapped on upper floors in the Riverside and Old Mill areas. "
        "Officials said nobody had been seriously hurt, although two elderly people were treated for cold.",
        MAYOR_QUOTE,
        "Engineers warned that the water level would keep rising until Wednesday evening because the reservoir "
        "upstream had reached capacity and was releasing water through its spillway for the first time since 2009.",
        "Schools in the eastern districts will remain closed for the rest of the week, and the city council has "
        "asked volunteers with vans to register at the town hall to help move furniture out of flooded houses.",
    ],
    "flood-insurance": [
        "Homeowners hit by last week's floods in Millbrook face a long wait for insurance payouts, as assessors "
        "struggle to reach streets that are still under water and claims handlers report record call volumes.",
        "The regional insurers' association said it had received almost three thousand claims in five days, "
        "about as many as it usually handles in a whole year, and that it was hiring temporary staff to cope.",
        MAYOR_QUOTE,
        "Consumer groups urged residents to photograph damaged belongings before throwing them away and to keep "
        "receipts for hotel rooms, since many policies cover temporary housing only with proof of payment.",
        "Tenants without contents cover may apply for a hardship grant of up to two thousand euros, which the "
        "council plans to pay from a reserve fund that was created after the storms of the previous decade.",
    ],
    "budget-schools": [
        "The city council approved a budget on Thursday that raises spending on schools by eight percent, the "
        "largest increase in more than a decade, after a debate that lasted well past midnight.",
        "Most of the new money will go to hiring teachers for overcrowded primary schools in the northern "
        "suburbs, where class sizes have grown to more than thirty pupils as young families moved into the area.",
        "Opposition members argued that the plan relies on optimistic forecasts for property tax revenue and "
        "warned that the council could be forced to make cuts next year if the housing market slows down.",
        "The budget also sets aside funds to repair leaking roofs at nine school buildings and to replace "
        "heating systems that parents have complained about for several winters in a row.",
    ],
    "budget-transport": [
        "Bus fares in the city will stay frozen for another year under a transport budget that councillors "
        "adopted on Thursday, despite warnings from the operator that rising fuel costs threaten its finances.",
        "The transport company had asked for a fare increase of ten cents to cover higher diesel prices and the "
        "cost of training new drivers, but the ruling coalition rejected the request by a narrow vote.",
        "Instead the council will cover the gap with a subsidy funded by parking charges, which will rise in the "
        "city centre from the first of March and will apply on Saturdays for the first time.",
        "Cycling groups welcomed plans to build twelve kilometres of protected bike lanes, while shop owners in "
        "the old town said higher parking charges would drive customers to out-of-town shopping centres.",
    ],
    "monsoon-bihar": [
        "बिहार के कई जिलों में पिछले तीन दिनों से लगातार हो रही बारिश के कारण गंगा और कोसी नदियों का जलस्तर "
        "खतरे के निशान से ऊपर पहुंच गया है और निचले इलाकों के सैकड़ों गांवों में पानी भर गया है।",
        "राज्य आपदा प्रबंधन विभाग के अनुसार अब तक करीब बीस हजार लोगों को राहत शिविरों में पहुंचाया गया है और "
        "राष्ट्रीय आपदा मोचन बल की छह टीमें नावों की मदद से फंसे हुए परिवारों को निकाल रही हैं।",
        IMD_QUOTE,
        "पटना में कई सड़कों पर घुटनों तक पानी जमा होने से यातायात ठप रहा और जिला प्रशासन ने एहतियात के तौर "
        "पर शुक्रवार तक सभी सरकारी और निजी स्कूल बंद रखने का आदेश दिया है।",
        "मुख्यमंत्री ने प्रभावित जिलों का हवाई सर्वेक्षण किया और अधिकारियों को निर्देश दिया कि राहत शिविरों में "
        "भोजन, पीने के साफ पानी और दवाइयों की कोई कमी नहीं होनी चाहिए।",
    ],
    "monsoon-delhi": [
        "राजधानी दिल्ली में बुधवार सुबह हुई तेज बारिश ने उमस भरी गर्मी से राहत तो दी, लेकिन कई इलाकों में "
        "जलभराव के कारण लोगों को दफ्तर पहुंचने में घंटों की देरी का सामना करना पड़ा।",
        "मिंटो ब्रिज और आईटीओ के पास अंडरपास में पानी भर जाने से यातायात पुलिस को कई रास्ते बंद करने पड़े "
        "और मेट्रो स्टेशनों पर यात्रियों की लंबी कतारें देखी गईं।",
        IMD_QUOTE,
        "नगर निगम ने दावा किया कि मानसून से पहले नालों की सफाई का काम पूरा कर लिया गया था, जबकि विपक्षी "
        "दलों ने जलभराव के लिए प्रशासन की लापरवाही को जिम्मेदार ठहराया।",
    ],
    "cricket-series": [
        "भारतीय क्रिकेट टीम ने रविवार को खेले गए तीसरे और अंतिम एकदिवसीय मुकाबले में ऑस्ट्रेलिया को सात "
        "विकेट से हराकर तीन मैचों की श्रृंखला दो-एक से अपने नाम कर ली।",
        "पहले बल्लेबाजी करते हुए ऑस्ट्रेलियाई टीम पचास ओवर में दो सौ छियासी रन ही बना सकी, जिसमें भारतीय "
        "स्पिन गेंदबाजों ने बीच के ओवरों में लगातार विकेट लेकर रन गति पर लगाम लगाई।",
        "जवाब में सलामी बल्लेबाज ने शानदार शतक जड़ा और कप्तान के साथ दूसरे विकेट के लिए एक सौ पैंसठ रन की "
        "साझेदारी कर टीम को आसान जीत की ओर पहुंचा दिया।",
        "मैच के बाद कप्तान ने कहा कि युवा खिलाड़ियों ने दबाव में जिस तरह का खेल दिखाया, वह आने वाले विश्व कप "
        "की तैयारी के लिहाज से टीम के लिए बहुत अच्छा संकेत है।",
    ],
}
LANGS = {name: ("hi" if name.startswith(("monsoon", "cricket")) else "en") for name in STORIES}
READ_MORE = {"en": "Read more: Council votes on new parking rules", "hi": "यह भी पढ़ें: शहर में पार्किंग के नए नियम"}
FOOTER = {
    "en": ["Share this article", "Follow us on social media", "© 2024 City Herald. All rights reserved."],
    "hi": ["कॉपी लिंक", "शेयर करें", "ऐप डाउनलोड करने के लिए QR स्कैन करें"],
}
OTHER_STORY = {  # where a copy's added paragraph comes from: a story of the same language and another topic
    "flood-river": "budget-schools",
    "flood-insurance": "budget-transport",
    "budget-schools": "flood-river",
    "budget-transport": "flood-insurance",
    "monsoon-bihar": "cricket-series",
    "monsoon-delhi": "cricket-series",
    "cricket-series": "monsoon-delhi",
}


def _copies(name: str) -> list[str]:
    """The original and the republished copies of a story, as the clean stage would output them."""
    paragraphs = STORIES[name]
    lang = LANGS[name]
    reworded = [paragraphs[0].replace("three", "3").replace("तीन", "3")] + paragraphs[1:]
    return [
        "\n\n".join(paragraphs),
        # another site's template: boilerplate lines around the body and a "read more" line
        "\n\n".join([FOOTER[lang][0]] + paragraphs[:2] + [READ_MORE[lang]] + paragraphs[2:] + FOOTER[lang][1:]),
        # the last paragraph cut, a wording edit
        "\n\n".join(reworded[:-1]),
        # a paragraph of another story added
        "\n\n".join(paragraphs[:2] + [STORIES[OTHER_STORY[name]][1]] + paragraphs[2:]),
    ]


def synthetic_rows() -> list[dict]:
    return [
        {"id": f"{name}#{index}", "lang": LANGS[name], "text": text, "cluster": name}
        for name in STORIES
        for index, text in enumerate(_copies(name))
    ]


def test_devanagari_words_keep_their_vowel_signs_and_viramas():
    assert dedup.tokens("क्षेत्र में बारिश हुई।") == ["क्षेत्र", "में", "बारिश", "हुई"]


def test_scripts_without_spaces_are_tokenised_by_character():
    assert dedup.tokens("東京で雨 Tokyo") == ["東", "京", "で", "雨", "tokyo"]


def test_text_is_nfc_normalised_and_lower_cased():
    decomposed = "Cafe\u0301 OPENS"
    assert dedup.tokens(decomposed) == ["café", "opens"]


def test_signature_shape_and_band_keys():
    sig = dedup.signature("\n\n".join(STORIES["flood-river"]), "en")
    assert len(sig.minhash) == dedup.NUM_HASHES
    assert len(sig.bands) == dedup.NUM_BANDS
    assert [key[:2] for key in sig.bands] == [f"{band:02x}" for band in range(dedup.NUM_BANDS)]
    assert all(int(key, 16) >= 0 for key in sig.bands)


def test_equal_values_in_different_bands_give_different_keys():
    values = (7,) * dedup.ROWS_PER_BAND
    assert dedup._band_key(0, values) != dedup._band_key(1, values)


def test_short_text_matches_nothing():
    short = dedup.signature("Breaking news: more soon", "en")
    assert short.bands == ()
    assert dedup.similarity(short, short) == 0.0
    assert dedup.signature("", "en").bands == ()


def test_signature_ignores_the_language_label():
    text = "\n\n".join(STORIES["monsoon-bihar"])
    assert dedup.signature(text, "hi") == dedup.signature(text, "mr")


def test_identical_texts_are_fully_similar():
    text = "\n\n".join(STORIES["budget-schools"])
    assert dedup.similarity(dedup.signature(text, "en"), dedup.signature(text, "en")) == 1.0


def test_json_round_trip_and_version_check():
    sig = dedup.signature("\n\n".join(STORIES["cricket-series"]), "hi")
    stored = orjson.loads(orjson.dumps(dedup.signature_to_json(sig)))
    assert dedup.signature_from_json(stored) == sig
    with pytest.raises(ValueError):
        dedup.signature_from_json({**stored, "version": "minhash-other"})
    with pytest.raises(ValueError):
        dedup.signature_from_json({**stored, "minhash": stored["minhash"][:-1]})


def test_candidate_probability_at_the_threshold():
    """Banding finds a pair at the threshold with probability >= 0.99 (docs/dedup.md)."""
    s = dedup.DUPLICATE_THRESHOLD
    assert 1 - (1 - s**dedup.ROWS_PER_BAND) ** dedup.NUM_BANDS >= 0.99
    assert dedup.NUM_BANDS * dedup.ROWS_PER_BAND <= dedup.NUM_HASHES
    assert dedup.NUM_BANDS <= 32


def test_signature_is_the_same_in_another_process_with_another_hash_seed():
    text = "\n\n".join(STORIES["monsoon-delhi"])
    code = (
        "import sys, orjson; from workers.stages import dedup; "
        "sys.stdout.write(orjson.dumps(dedup.signature_to_json(dedup.signature(sys.stdin.read(), 'hi'))).decode())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    command = [sys.executable, "-c", code]
    output = subprocess.run(command, input=text, capture_output=True, text=True, env=env, check=True)
    assert dedup.signature_from_json(orjson.loads(output.stdout)) == dedup.signature(text, "hi")


def test_synthetic_set_full_recall_and_no_false_merge():
    rows = synthetic_rows()
    signatures = [dedup.signature(row["text"], row["lang"]) for row in rows]
    for (i, a), (j, b) in combinations(enumerate(rows), 2):
        same = a["cluster"] == b["cluster"]
        value = dedup.similarity(signatures[i], signatures[j])
        assert dedup.is_duplicate(signatures[i], signatures[j]) == same, (a["id"], b["id"], value)
        if same:  # the band lookup must find every duplicate pair
            assert set(signatures[i].bands) & set(signatures[j].bands), (a["id"], b["id"])


def test_stories_sharing_a_quote_are_not_duplicates():
    river = dedup.signature("\n\n".join(STORIES["flood-river"]), "en")
    insurance = dedup.signature("\n\n".join(STORIES["flood-insurance"]), "en")
    assert 0.0 < dedup.similarity(river, insurance) < dedup.DUPLICATE_THRESHOLD


def test_eval_command_scores_the_synthetic_set(tmp_path, capsys):
    data = tmp_path / "dedup.jsonl"
    data.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in synthetic_rows()))
    parser = argparse.ArgumentParser()
    parser.add_argument("--data")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--limit", type=int, default=None)
    dedup_eval.add_arguments(parser)
    assert dedup_eval.run(parser.parse_args(["--data", str(data), "--json"])) == 0
    summary = orjson.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(summary) == set(dedup_eval.SUMMARY_KEYS)
    assert summary["n"] == 4 * len(STORIES)
    assert summary["pairs_true"] == 6 * len(STORIES)
    assert (summary["precision"], summary["recall"], summary["false_merges"]) == (1.0, 1.0, 0)


@pytest.mark.shared_data
@pytest.mark.parametrize(("mode", "sources"), [("text", 150), ("html", 30)])
def test_dev_derived_set(shared_data, mode, sources):
    """A seeded sample of the development-derived set (docs/dedup.md); the full set is built by dedup_set."""
    from workers.evaluation.dedup_set import build

    rows, stats = build(shared_data, mode=mode, sources=sources)
    assert stats.stories >= 0.9 * sources
    result = dedup_eval.score(rows)
    assert result["f1"] >= 0.95
    assert result["false_merges"] == 0
