"""Short news pages written for these tests, one story in several languages, encoded in the charsets that
publishers still serve, declared in each way a page or its sender can declare one, and not declared at all.

`encoded_records()` gives the raw-topic records (key, value) with the title each page must come out with:
bare records (the page's bytes as the value) and envelopes carrying the bytes as `raw_base64` with the
charset in their `content_type`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import orjson

STORIES = {
    "ru": ("Городской совет утвердил новый транспортный план", [
        "Городской совет во вторник большинством голосов утвердил новый транспортный план, который добавляет "
        "три автобусные линии и продлевает трамвай до северных районов к концу следующего года.",
        "По словам мэра, новые линии сократят время в пути для жителей окраин и уменьшат пробки в центре. "
        "Часть владельцев магазинов опасается, что стройка на несколько месяцев отпугнёт покупателей.",
        "Транспортное управление обещает опубликовать расписание до осени и провести встречи с жителями в "
        "каждом районе города.",
    ]),
    "ja": ("市議会、新しい交通計画を承認", [
        "市議会は火曜日、市内に三つの新しいバス路線を加え、路面電車を北部の住宅地まで延ばす交通計画を賛成多数で"
        "承認した。工事は来年の春に始まる予定で、費用の大部分は県の補助金と駐車料金の引き上げでまかなわれる。",
        "市長は記者会見で「通勤時間が短くなり、中心部の渋滞も減る」と述べた。一方、商店街の一部からは、工事期間中に"
        "客足が遠のくのではないかという心配の声も上がっている。",
        "交通局によると、新しい路線の時刻表は秋までに公表され、住民向けの説明会も各地区で開かれる。",
    ]),
    "zh-hans": ("市议会批准新的交通计划", [
        "市议会星期二以多数票通过了一项新的交通计划，将在市区增加三条公交线路，并把有轨电车延伸到北部的住宅区。"
        "工程预计明年春天开工，大部分费用将由省级补助和提高停车费来承担。",
        "市长在新闻发布会上说，新线路将缩短居民的通勤时间，也会减少市中心的交通拥堵。不过，一些商户担心施工期间"
        "顾客会减少。",
        "交通局表示，新线路的时刻表将在秋季之前公布，各个社区也将举行说明会。",
    ]),
    "zh-hant": ("市議會批准新的交通計劃", [
        "市議會星期二以多數票通過了一項新的交通計劃，將在市區增加三條公車路線，並把輕軌延伸到北部的住宅區。"
        "工程預計明年春天開工，大部分費用將由省級補助和提高停車費來負擔。",
        "市長在記者會上說，新路線將縮短居民的通勤時間，也會減少市中心的交通擁擠。不過，一些商家擔心施工期間"
        "顧客會減少。",
        "交通局表示，新路線的時刻表將在秋季之前公佈，各個社區也將舉行說明會。",
    ]),
    "ko": ("시의회, 새 교통 계획 승인", [
        "시의회는 화요일 시내에 버스 노선 세 개를 추가하고 노면전차를 북부 주택가까지 연장하는 새 교통 계획을 "
        "찬성 다수로 승인했다. 공사는 내년 봄에 시작될 예정이며 비용의 대부분은 도 보조금과 주차 요금 인상으로 "
        "충당된다.",
        "시장은 기자회견에서 새 노선이 주민들의 출퇴근 시간을 줄이고 도심의 교통 체증도 덜어 줄 것이라고 말했다. "
        "그러나 일부 상인들은 공사 기간에 손님이 줄어들까 걱정하고 있다.",
        "교통국은 새 노선의 시간표를 가을까지 공개하고 각 동네에서 주민 설명회를 열 계획이라고 밝혔다.",
    ]),
    "el": ("Το δημοτικό συμβούλιο ενέκρινε το νέο σχέδιο μεταφορών", [
        "Το δημοτικό συμβούλιο ενέκρινε την Τρίτη το νέο σχέδιο μεταφορών, το οποίο προσθέτει τρεις "
        "λεωφορειακές γραμμές και επεκτείνει το τραμ έως τις βόρειες συνοικίες μέχρι το τέλος του επόμενου έτους.",
        "Ο δήμαρχος δήλωσε ότι οι νέες γραμμές θα μειώσουν τον χρόνο μετακίνησης των κατοίκων και την "
        "κυκλοφοριακή συμφόρηση στο κέντρο. Ορισμένοι καταστηματάρχες ανησυχούν ότι τα έργα θα διώξουν τους πελάτες.",
        "Η υπηρεσία συγκοινωνιών θα δημοσιεύσει τα δρομολόγια έως το φθινόπωρο και θα οργανώσει ενημερωτικές "
        "συναντήσεις σε κάθε γειτονιά.",
    ]),
    "fr": ("Le conseil municipal adopte le nouveau plan de transport", [
        "Le conseil municipal a adopté mardi le nouveau plan de transport, qui ajoute trois lignes d’autobus et "
        "prolonge le tramway jusqu’aux quartiers du nord d’ici la fin de l’année prochaine.",
        "« Nous voulons une ville où l’on circule mieux », a déclaré l’adjointe chargée des transports, qui a salué "
        "« une œuvre collective ». Certains commerçants craignent toutefois que les travaux éloignent leurs clients.",
        "Le service des transports publiera les horaires avant l’automne et organisera des réunions d’information "
        "dans chaque quartier, a précisé la mairie.",
    ]),
    "de": ("Stadtrat beschließt neuen Verkehrsplan", [
        "Der Stadtrat hat am Dienstag den neuen Verkehrsplan beschlossen. Er sieht drei zusätzliche Buslinien vor "
        "und verlängert die Straßenbahn bis zu den nördlichen Wohnvierteln.",
        "Nach Angaben des Bürgermeisters werden die neuen Linien die Fahrzeiten der Pendler verkürzen und die Staus "
        "in der Innenstadt verringern. Einige Ladenbesitzer befürchten jedoch, dass die Bauarbeiten ihre Kunden "
        "monatelang fernhalten.",
        "Die Verkehrsbetriebe wollen die Fahrpläne bis zum Herbst veröffentlichen und in jedem Stadtteil "
        "Informationsabende veranstalten.",
    ]),
    "hi": ("नगर परिषद ने नई परिवहन योजना को मंजूरी दी", [
        "नगर परिषद ने मंगलवार को नई परिवहन योजना को बहुमत से मंजूरी दे दी। इसके तहत शहर में तीन नई बस लाइनें जोड़ी "
        "जाएंगी और ट्राम को अगले साल के अंत तक उत्तरी इलाकों तक बढ़ाया जाएगा।",
        "महापौर ने कहा कि नई लाइनों से लोगों का रोज़ का सफ़र छोटा होगा और शहर के बीच का जाम भी घटेगा। कुछ दुकानदारों "
        "को डर है कि निर्माण के महीनों में ग्राहक कम आएंगे।",
        "परिवहन विभाग शरद ऋतु से पहले समय-सारणी जारी करेगा और हर मोहल्ले में जानकारी के लिए बैठकें करेगा।",
    ]),
}

# How the charset is made known: in the page (<meta charset>, http-equiv, XML declaration), by the sender
# (the envelope's content type), by a byte-order mark, or not at all (detection).
DECLARATIONS = {
    "meta": '<meta charset="{charset}">',
    "http-equiv": '<meta http-equiv="Content-Type" content="text/html; charset={charset}">',
    "xml": "",  # written before <html>, see page_html
    "envelope": "",
    "bom": "",
    "none": "",
}

# (story, Python codec, charset label the page declares, how it is declared)
CASES = [
    ("ru", "cp1251", "windows-1251", "meta"),
    ("ru", "cp1251", "windows-1251", "none"),
    ("ru", "koi8-r", "koi8-r", "http-equiv"),
    ("ru", "koi8-r", "koi8-r", "none"),
    ("ja", "shift_jis", "Shift_JIS", "meta"),
    ("ja", "shift_jis", "Shift_JIS", "none"),
    ("ja", "euc-jp", "EUC-JP", "http-equiv"),
    ("ja", "euc-jp", "EUC-JP", "none"),
    ("zh-hans", "gb2312", "gb2312", "meta"),
    ("zh-hans", "gbk", "GBK", "envelope"),
    ("zh-hans", "gb18030", "gb18030", "none"),
    ("zh-hant", "big5", "big5", "meta"),
    ("zh-hant", "big5", "big5", "none"),
    ("ko", "euc-kr", "euc-kr", "http-equiv"),
    ("ko", "euc-kr", "euc-kr", "none"),
    ("el", "iso-8859-7", "iso-8859-7", "xml"),
    ("el", "iso-8859-7", "iso-8859-7", "none"),
    ("fr", "cp1252", "windows-1252", "envelope"),
    ("fr", "cp1252", "windows-1252", "none"),
    ("de", "latin-1", "iso-8859-1", "meta"),
    ("de", "latin-1", "iso-8859-1", "none"),
    ("hi", "utf-16", "utf-16", "bom"),
    ("hi", "utf-8-sig", "utf-8", "bom"),
    ("hi", "utf-8", "utf-8", "none"),
]


@dataclass(frozen=True)
class EncodedRecord:
    name: str
    url: str
    key: bytes
    value: bytes
    title: str
    first_paragraph: str


def page_html(story: str, charset: str, declaration: str) -> str:
    title, paragraphs = STORIES[story]
    meta = DECLARATIONS[declaration].format(charset=charset)
    body = "".join(f"<p>{paragraph}</p>" for paragraph in paragraphs)
    html = (f"<!DOCTYPE html><html><head>{meta}<title>{title}</title></head><body>"
            f"<nav><a href='/'>Home</a></nav><article><h1>{title}</h1>{body}</article></body></html>")
    return f'<?xml version="1.0" encoding="{charset}"?>\n{html}' if declaration == "xml" else html


def encoded_records() -> list[EncodedRecord]:
    records = []
    for story, codec, charset, declaration in CASES:
        name = f"{story}-{codec}-{declaration}"
        url = f"https://encodings.example/{name}"
        data = page_html(story, charset, declaration).encode(codec)
        if declaration == "envelope":
            value = orjson.dumps({"v": 1, "url": url, "source": "test", "content_type": f"text/html; charset={charset}",
                                  "raw_base64": base64.b64encode(data).decode("ascii")})
        else:
            value = data
        title, paragraphs = STORIES[story]
        records.append(EncodedRecord(name, url, url.encode(), value, title, paragraphs[0]))
    return records
