"""Tables behind the sample program year: prefecture capitals, countries, names and firms.

Data only: imports nothing from the project or beyond the standard library.
"""

from typing import NamedTuple

# Capital of each prefecture (Tokyo: Shinjuku), WGS 84 degrees, in contracts.PREFECTURES order.
PREFECTURE_CAPITALS: dict[str, tuple[float, float]] = {
    "Hokkaido": (43.064, 141.347), "Aomori": (40.824, 140.740), "Iwate": (39.704, 141.153),
    "Miyagi": (38.269, 140.872), "Akita": (39.719, 140.102), "Yamagata": (38.240, 140.364),
    "Fukushima": (37.750, 140.468), "Ibaraki": (36.342, 140.447), "Tochigi": (36.566, 139.884),
    "Gunma": (36.391, 139.061), "Saitama": (35.857, 139.649), "Chiba": (35.605, 140.123),
    "Tokyo": (35.690, 139.692), "Kanagawa": (35.448, 139.643), "Niigata": (37.902, 139.023),
    "Toyama": (36.695, 137.211), "Ishikawa": (36.594, 136.626), "Fukui": (36.065, 136.222),
    "Yamanashi": (35.664, 138.568), "Nagano": (36.651, 138.181), "Gifu": (35.391, 136.722),
    "Shizuoka": (34.977, 138.383), "Aichi": (35.180, 136.907), "Mie": (34.730, 136.509),
    "Shiga": (35.004, 135.868), "Kyoto": (35.021, 135.756), "Osaka": (34.686, 135.520),
    "Hyogo": (34.691, 135.183), "Nara": (34.685, 135.833), "Wakayama": (34.226, 135.168),
    "Tottori": (35.504, 134.238), "Shimane": (35.472, 133.051), "Okayama": (34.662, 133.935),
    "Hiroshima": (34.396, 132.459), "Yamaguchi": (34.186, 131.471), "Tokushima": (34.066, 134.559),
    "Kagawa": (34.340, 134.043), "Ehime": (33.842, 132.766), "Kochi": (33.560, 133.531),
    "Fukuoka": (33.607, 130.418), "Saga": (33.249, 130.299), "Nagasaki": (32.745, 129.874),
    "Kumamoto": (32.790, 130.742), "Oita": (33.238, 131.613), "Miyazaki": (31.911, 131.424),
    "Kagoshima": (31.560, 130.558), "Okinawa": (26.212, 127.681),
}  # fmt: skip

# Relative weight of a prefecture for SMEs and resident students; unlisted prefectures weigh 1.
PREFECTURE_WEIGHTS: dict[str, int] = {
    "Tokyo": 30, "Osaka": 12, "Aichi": 9, "Fukuoka": 6, "Kanagawa": 6, "Saitama": 4,
    "Hyogo": 4, "Hokkaido": 4, "Kyoto": 3, "Chiba": 3, "Shizuoka": 3, "Hiroshima": 3,
    "Miyagi": 2, "Ibaraki": 2, "Niigata": 2, "Okayama": 2, "Nagano": 2, "Gifu": 2,
}  # fmt: skip

# OECD DAC List of ODA Recipients for 2022-2023 flows (copy of the shared design file).
_DAC_TEXT = """
AF AO BD BJ BT BF BI KH CF TD KM CD DJ ER ET GM GN GW HT KI LA LS LR MG MW ML MR MZ MM NP NE RW
ST SN SL SB SO SS SD TZ TL TG TV UG YE ZM KP SY DZ BO CV CM CG CI EG SV SZ GH HN IN ID IR KE KG
FM MN MA NI NG PK PG PH WS LK TJ TK TN UA UZ VU VN PS ZW AL AR AM AZ BY BZ BA BW BR CN CO CR CU
DM DO EC GQ FJ GA GE GD GT GY IQ JM JO KZ XK LB LY MY MV MH MU MX MD ME MS NA NR NU MK PW PA PY
PE SH LC VC RS ZA SR TH TO TR TM VE WF
"""
DAC_2022_2023: frozenset[str] = frozenset(_DAC_TEXT.split())


class Country(NamedTuple):
    weight: float
    cities: tuple[tuple[str, float, float], ...]
    given: tuple[str, ...]
    family: tuple[str, ...]
    universities: tuple[str, ...]
    english_native: bool = False


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split(","))


def _country(weight: float, cities: str, given: str, family: str, universities: str,
             english_native: bool = False) -> Country:  # fmt: skip
    places = tuple((n, float(lat), float(lon)) for n, lat, lon in
                   (c.split("/") for c in cities.split(";")))  # fmt: skip
    return Country(weight, places, _names(given), _names(family), _names(universities),
                   english_native)  # fmt: skip


# Home countries of applicants by ISO code; weights are percentages of applicants.
# Cities read "name/lat/lon;...", name pools "a,b,c".
COUNTRIES: dict[str, Country] = {
    "PK": _country(40, "Karachi/24.86/67.01;Lahore/31.55/74.34;Islamabad/33.68/73.05;"
        "Peshawar/34.01/71.58;Faisalabad/31.42/73.08",
        "Ayesha,Muhammad,Ali,Fatima,Hassan,Zainab,Usman,Hira,Bilal,Sana,Ahmed,Maryam",
        "Khan,Ahmed,Malik,Qureshi,Butt,Chaudhry,Sheikh,Raza,Siddiqui,Hussain",
        "NED University,LUMS,NUST,University of the Punjab,COMSATS University,FAST-NUCES"),
    "IN": _country(8, "Bengaluru/12.97/77.59;Mumbai/19.08/72.88;Delhi/28.61/77.21",
        "Priya,Rahul,Ananya,Arjun,Sneha,Vikram", "Sharma,Patel,Iyer,Reddy,Singh,Nair",
        "IIT Bombay,University of Delhi,Anna University"),
    "VN": _country(8, "Hanoi/21.03/105.85;Ho Chi Minh City/10.82/106.63",
        "Linh,Minh,Trang,Huy,Thao,Duc", "Nguyen,Tran,Le,Pham,Hoang,Vu",
        "Hanoi University of Science and Technology,Vietnam National University"),
    "ID": _country(6, "Jakarta/-6.21/106.85;Bandung/-6.92/107.61",
        "Putri,Budi,Siti,Agus,Dewi,Rizky", "Santoso,Wijaya,Saputra,Hidayat,Kusuma",
        "Universitas Indonesia,Institut Teknologi Bandung"),
    "BD": _country(5, "Dhaka/23.81/90.41;Chittagong/22.36/91.78",
        "Nusrat,Rafi,Tanvir,Farhana,Sadia,Arif", "Rahman,Hossain,Islam,Chowdhury,Akter",
        "BUET,University of Dhaka"),
    "NP": _country(4, "Kathmandu/27.72/85.32;Pokhara/28.21/83.99",
        "Sita,Ram,Anil,Sunita,Bikash,Asmita", "Shrestha,Gurung,Thapa,Karki,Adhikari",
        "Tribhuvan University,Kathmandu University"),
    "PH": _country(4, "Manila/14.60/120.98;Cebu/10.32/123.89",
        "Maria,Jose,Angelica,Mark,Kristine,Paolo", "Santos,Reyes,Cruz,Bautista,Garcia",
        "University of the Philippines,Ateneo de Manila University", english_native=True),
    "LK": _country(3, "Colombo/6.93/79.86;Kandy/7.29/80.63", "Nimal,Kasun,Dilini,Tharushi",
        "Perera,Fernando,Silva,Jayasinghe", "University of Moratuwa,University of Colombo"),
    "EG": _country(3, "Cairo/30.04/31.24;Alexandria/31.20/29.92", "Omar,Nour,Youssef,Salma,Mariam",
        "Hassan,Mahmoud,Ibrahim,Mostafa", "Cairo University,Alexandria University"),
    "NG": _country(3, "Lagos/6.52/3.38;Abuja/9.08/7.40", "Chinedu,Ngozi,Tunde,Aisha,Emeka",
        "Okafor,Adeyemi,Bello,Eze", "University of Lagos,University of Ibadan",
        english_native=True),
    "KE": _country(2, "Nairobi/-1.29/36.82", "Wanjiru,Otieno,Achieng,Kamau",
        "Mwangi,Odhiambo,Kariuki,Njoroge", "University of Nairobi", english_native=True),
    "BR": _country(2, "Sao Paulo/-23.55/-46.63", "Lucas,Ana,Gabriel,Beatriz",
        "Silva,Souza,Oliveira,Costa", "Universidade de Sao Paulo"),
    "MN": _country(2, "Ulaanbaatar/47.89/106.91", "Temuulen,Nomin,Bat-Erdene,Anujin",
        "Batbayar,Ganbold,Enkhbayar,Tsogt", "National University of Mongolia"),
    "UZ": _country(2, "Tashkent/41.30/69.24", "Aziz,Dilnoza,Jasur,Madina",
        "Karimov,Yusupov,Rakhimov,Tursunov", "National University of Uzbekistan"),
    # Not eligible: China is excluded from the DAC list, the rest are not on it.
    "CN": _country(3, "Beijing/39.90/116.41;Shanghai/31.23/121.47", "Wei,Jing,Hao,Xin,Yu",
        "Wang,Li,Zhang,Liu,Chen", "Tsinghua University,Fudan University"),
    "US": _country(1.5, "New York/40.71/-74.01", "Emily,Michael,Sarah,James",
        "Smith,Johnson,Brown,Miller", "New York University", english_native=True),
    "KR": _country(1.5, "Seoul/37.57/126.98", "Minji,Jiho,Seoyeon,Hyunwoo", "Kim,Lee,Park,Choi",
        "Seoul National University"),
    "FR": _country(1, "Paris/48.86/2.35", "Camille,Lucas,Chloe,Hugo",
        "Martin,Bernard,Dubois,Durand", "Sorbonne Universite"),
}  # fmt: skip

FIELDS = _names("computer science,electrical engineering,mechanical engineering,economics,"
                "business administration,international relations,data science,civil engineering,"
                "Japanese studies,marketing")  # fmt: skip
SKILLS = _names("python,java,data analysis,excel,cad,marketing,accounting,sales,translation,"
                "web design,machine learning,project management,video editing")  # fmt: skip

# SME Basic Act limits per industry: (capital in yen, regular employees).
INDUSTRY_LIMITS: dict[str, tuple[int, int]] = {
    "manufacturing": (300_000_000, 300), "construction": (300_000_000, 300),
    "transport": (300_000_000, 300), "other": (300_000_000, 300), "wholesale": (100_000_000, 100),
    "services": (50_000_000, 100), "retail": (50_000_000, 50), "software": (300_000_000, 300),
    "hotel": (50_000_000, 200),
}  # fmt: skip
INDUSTRY_WEIGHTS = {"manufacturing": 30, "software": 18, "services": 14, "wholesale": 10,
                    "construction": 7, "transport": 6, "retail": 6, "hotel": 5,
                    "other": 4}  # fmt: skip
FIRM_WORDS = _names("Sakura,Fuji,Hikari,Midori,Aozora,Tsubasa,Yamato,Kaede,Hoshi,Minato,Asahi")
INDUSTRY_WORDS: dict[str, tuple[str, ...]] = {
    "manufacturing": _names("Robotics,Precision,Seiki,Industries"),
    "construction": _names("Kensetsu,Builders"), "transport": _names("Logistics,Unyu"),
    "wholesale": _names("Trading,Shoji"), "retail": _names("Mart,Store"),
    "services": _names("Consulting,Partners"), "software": _names("Systems,Soft,Digital"),
    "hotel": _names("Ryokan,Hotel"), "other": _names("Works,Labs"),
}  # fmt: skip
TITLES: dict[str, tuple[str, ...]] = {
    "manufacturing": _names("Production engineering intern,Overseas market research assistant"),
    "construction": _names("Site planning assistant,BIM modelling intern"),
    "transport": _names("Logistics optimisation intern,Export documentation assistant"),
    "wholesale": _names("Overseas sales assistant,Import sourcing intern"),
    "retail": _names("E-commerce assistant,Inbound customer service intern"),
    "services": _names("Business development intern,Marketing research assistant"),
    "software": _names("Backend developer intern,Data analysis intern,QA engineering intern"),
    "hotel": _names("Inbound tourism assistant,Guest relations intern"),
    "other": _names("General business intern,Global strategy assistant"),
}  # fmt: skip
FOREIGN_HEAD_OFFICES = ("US", "SG", "DE")
