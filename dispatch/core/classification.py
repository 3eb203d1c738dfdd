"""Classification help: suggest an incident type, priority and responders for a call.

The call-taker decides; this module only suggests, from what is known when the call is
answered or while it goes on:

- the channel: an eCall is a road collision, a panic-app alarm is domestic violence;
- the number dialled: callers still dial the seven old numbers (110 fire, 155 police,
  156 gendarmerie, 177 forest fire, 178 coast guard, 122 AFAD), a hint to the family;
- the caller's words as typed by the call-taker or sent as text, in Turkish, English, German,
  Arabic or Russian, matched against a keyword table robust to missing Turkish letters,
  suffixes and single typing errors (``dispatch.core.lexicon``);
- the answers to the type's key questions (``dispatch.core.interrogation``), which set the
  priority and may change the type.

Scoring is additive and explainable: every channel, number and keyword that matched adds its
weight to a type and is listed in ``Suggestion.reasons``; the best score wins; ties go to the
scene over a medical complaint (a collision with someone hurt is a collision), then to the
more urgent type. ``confidence`` is ``best / (best + runner_up + 1)``, 0 when nothing
matched. Other types that scored at least one full keyword are listed in ``also`` and bring
their responders and, if more urgent, their priority: "kaza var, araba yanıyor" is a
collision that needs the fire brigade too.

The service logs both the suggestion and the call-taker's decision (``IncidentClassified``
keeps ``suggested_type``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from dispatch.core.interrogation import Question, questions_for, refine
from dispatch.core.lexicon import Keyword, KeywordSet, Lexicon
from dispatch.core.taxonomy import (
    TAXONOMY,
    Family,
    IncidentType,
    Responder,
    resolve_agencies,
)
from dispatch.model.vocabulary import Agency, Channel, Ground, Priority

__all__ = [
    "LANGUAGES",
    "Suggestion",
    "classify",
]

#: The languages the keyword table covers (ISO 639-1).
LANGUAGES: tuple[str, ...] = ("tr", "en", "de", "ar", "ru")

#: A keyword in another language than the caller's (when known) counts this much;
#: Turkish keywords always count fully, call-takers write notes in Turkish.
OTHER_LANGUAGE_WEIGHT = 0.75

#: A type must score this much to be listed in ``also``.
ALSO_THRESHOLD = 1.0

_T = IncidentType

# Context words, shared by the combination rules below.
_FIRE = {
    "tr": "yangın; yanıyor; alev$; alevler; alevl; duman; tutuştu; ateş aldı; yanık kokusu",
    "en": "fire$; fires$; on fire; burning; flames; smoke$; smoking from",
    "de": "feuer; brennt; brand$; *brand$; flammen; rauch$; qualm",
    "ar": "حريق; حرائق; نار$; النار; دخان; يحترق; تحترق; اشتعل; اشتعال",
    "ru": "пожар; горит; огонь; дым$; дымит; пламя",
}
_BUILDING = {
    "tr": (
        "ev$; evde$; evim; evimiz; evin$; evi$; bina; apartman; daire; mutfak; katta$; çatı; oda$; "
        "odada"
    ),
    "en": "house; building; flat$; apartment; kitchen; home$; room$; roof$",
    "de": "haus$; hause$; wohnung; gebäude; küche; dach$; zimmer",
    "ar": "منزل; بيت; مبنى; شقة; مطبخ; عمارة",
    "ru": "дом$; дома$; доме$; квартир; здани; кухн; подъезд",
}
_VEHICLE = {
    "tr": "araba; araç; arac; otomobil; kamyon; otobüs; tır$; minibüs",
    "en": "car$; cars$; vehicle; truck; lorry; bus$",
    "de": "auto$; autos$; fahrzeug; lkw$; pkw$; bus$",
    "ar": "سيارة; شاحنة; حافلة",
    "ru": "машин; автомоб; грузовик; автобус",
}
_INDUSTRY = {
    "tr": "fabrika; depo$; deposu; sanayi; tesis; atölye; rafineri",
    "en": "factory; warehouse; plant$; refinery; industrial",
    "de": "fabrik; lagerhalle; halle$; werk$; industrie",
    "ar": "مصنع; مستودع",
    "ru": "завод; склад; фабрик; цех$",
}
_FOREST = {
    "tr": "orman; ağaç; makilik; fundalık; çalılık; dağda",
    "en": "forest; woods$; trees$; bush$",
    "de": "wald; bäume",
    "ar": "غابة; الغابات; أشجار",
    "ru": "лес$; леса$; лесу$; лесн",
}
_VIOLENCE = {
    "tr": "kavga; dövüyor; dövdü; dövüyorlar; darp; saldırı; saldırdı; yumrukla; tekmeli; şiddet",
    "en": "fight; fighting; assault; beating; beats; attacked; punched; hitting",
    "de": "schlägerei; prügel; angegriffen; schlägt; geschlagen; gewalt",
    "ar": "شجار; يضرب; ضرب; اعتداء; هجوم; عنف",
    "ru": "драка; избива; избил; напал; бьет; насили",
}
_PARTNER = {
    "tr": "kocam; kocası; eşim; eski eşim; karım; karısı; nişanlım; sevgilim",
    "en": "husband; wife$; boyfriend; partner; my ex",
    "de": "mann$; ehemann; freund$; exmann; ex mann",
    "ar": "زوجي; زوجها; زوجتي; طليقي",
    "ru": "муж$; мужа$; муж; сожител; бывший",
}
_QUAKE = {
    "tr": "deprem; sarsıntı; zelzele",
    "en": "earthquake; quake; tremor",
    "de": "erdbeben; beben$",
    "ar": "زلزال; زلزلة; هزة",
    "ru": "землетряс; толчк",
}
_COLLAPSE = {
    "tr": "çöktü; çökme; yıkıldı; göçtü; enkaz; göçük",
    "en": "collapsed; collapse; rubble; debris",
    "de": "eingestürzt; einsturz; trümmer; verschüttet",
    "ar": "انهيار; انهار; أنقاض; ركام",
    "ru": "обрушен; обрушил; рухнул; завал; обломк",
}
_GAS = {
    "tr": "gaz$; gazı; doğalgaz; tüp$; tüpü",
    "en": "gas$",
    "de": "gas$",
    "ar": "غاز",
    "ru": "газ$; газа$; газом",
}
_SMELL_OR_LEAK = {
    "tr": "koku; kaçağı; kaçak; kaçırıyor; sızıyor",
    "en": "smell; leak; leaking",
    "de": "geruch; riecht; leck; austritt",
    "ar": "رائحة; تسرب",
    "ru": "запах; пахнет; утечк",
}
_WATER = {
    "tr": "deniz; göl$; gölde; dere; nehir; ırmak; baraj; havuz; suda$; suya$",
    "en": "water; sea$; lake; river; pool$",
    "de": "wasser; see$; meer; fluss; schwimmbad",
    "ar": "البحر; بحر; نهر; مسبح; الماء",
    "ru": "вод; море; озер; река; реке; бассейн",
}

# Keywords that point at one type directly. "@w" after a keyword sets its weight (default 1,
# phrases 1.5).
_KEYWORDS: dict[IncidentType, dict[str, str]] = {
    _T.CARDIAC_ARREST: {
        "tr": (
            "kalp durdu; kalbi durdu; kalbi durmuş; kalp durması; nefes almıyor; nabız yok; "
            "nabzı yok; kalp masajı"
        ),
        "en": "cardiac arrest; not breathing; no pulse; heart stopped; stopped breathing; cpr$",
        "de": "herzstillstand; atmet nicht; kein puls; reanimation; wiederbelebung",
        "ar": "توقف القلب; لا يتنفس; توقف عن التنفس; لا نبض",
        "ru": "остановка сердца; не дышит; нет пульса; сердце остановилось",
    },
    _T.CHEST_PAIN: {
        "tr": "göğüs ağrısı; göğsü ağrıyor; göğsünde ağrı; kalp krizi; enfarktüs",
        "en": "chest pain; heart attack; chest hurts; pain in chest",
        "de": "brustschmerz; herzinfarkt; schmerzen brust",
        "ar": "ألم$ صدر; نوبة قلبية; جلطة قلبية",
        "ru": "боль груди; сердечный приступ; инфаркт",
    },
    _T.BREATHING_PROBLEM: {
        "tr": (
            "nefes alamıyor; nefes alamıyorum; nefes darlığı; nefesi daralıyor; solunum güçlüğü; "
            "astım"
        ),
        "en": (
            "can t breathe; cant breathe; cannot breathe; difficulty breathing; short of breath; "
            "shortness of breath; choking; asthma"
        ),
        "de": "atemnot; keine luft; bekommt keine luft; erstickt; asthma",
        "ar": "ضيق تنفس; صعوبة تنفس; لا يستطيع التنفس; اختناق; ربو",
        "ru": "не может дышать; задыха; одышка; астм",
    },
    _T.UNCONSCIOUS: {
        "tr": (
            "bayıldı; bayılmış; bayıldım; baygın; bilinci kapalı; bilinçsiz; kendinde değil; "
            "ayılmıyor; tepki vermiyor"
        ),
        "en": "unconscious; fainted; passed out; not responding; unresponsive; collapsed@0.5",
        "de": "bewusstlos; ohnmächtig; reagiert nicht; umgekippt",
        "ar": "فاقد الوعي; مغمى عليه; أغمي عليه; لا يستجيب",
        "ru": "без сознания; потерял сознание; потеряла сознание; обморок; не реагирует",
    },
    _T.STROKE: {
        "tr": (
            "felç; inme$; inme geçir; yüzü kaydı; ağzı kaydı; konuşamıyor; kolu tutmuyor; "
            "beyin kanaması"
        ),
        "en": "stroke; face drooping; slurred speech; paralysed; paralyzed",
        "de": "schlaganfall; gelähmt; lähmung",
        "ar": "جلطة دماغية; سكتة دماغية; شلل",
        "ru": "инсульт; парализ; перекосило лицо",
    },
    _T.BLEEDING_INJURY: {
        "tr": (
            "yaralı; yaralandı; yaralanma; kanıyor; kanama; kan kaybı; düştü; kırıldı; kırık$; "
            "başını çarptı; ısırdı"
        ),
        "en": (
            "injured; injury; bleeding; wounded; hurt@0.5; fell$; fracture; broken leg; "
            "broken arm; bitten"
        ),
        "de": "verletzt; blutet; blutung; gestürzt; gebrochen; gebissen",
        "ar": "مصاب; مصابين; جريح; جرحى; نزيف; ينزف; كسر; سقط",
        "ru": "ранен; кровотеч; кровь; перелом; упал; травм; укусил",
    },
    _T.CHILDBIRTH: {
        "tr": "doğum; doğuruyor; doğum sancısı; sancısı; suyu geldi; hamile@0.5; gebe@0.5",
        "en": (
            "giving birth; in labour; in labor; contractions; water broke; waters broke; "
            "pregnant@0.5; baby coming"
        ),
        "de": "geburt; wehen$; fruchtblase; schwanger@0.5; entbindung",
        "ar": "ولادة; تلد; مخاض; حامل@0.5",
        "ru": "роды; рожает; схватки; беремен@0.5; воды отошли",
    },
    _T.POISONING: {
        "tr": (
            "zehirlen; zehir; hap içti; ilaç içti; fazla ilaç; aşırı doz; karbonmonoksit; "
            "soba zehirlenmesi"
        ),
        "en": "poison; overdose; took pills; carbon monoxide",
        "de": "vergiftung; vergiftet; überdosis; tabletten genommen; kohlenmonoxid",
        "ar": "تسمم; جرعة زائدة; سم$",
        "ru": "отравлен; отравил; передозир; угарный газ; таблетк",
    },
    _T.SEIZURE: {
        "tr": (
            "nöbet$; nöbeti$; nöbet geçir; sara$; epilepsi; kasılıyor; kasılma; havale; "
            "ağzından köpük"
        ),
        "en": "seizure; fitting; convulsion; epilep",
        "de": "krampfanfall; anfall; epilep; krampf",
        "ar": "نوبة صرع; صرع; تشنج",
        "ru": "судорог; эпилеп; припадок",
    },
    _T.ALLERGIC_REACTION: {
        "tr": "alerj; arı soktu; anafilaksi; anafilaktik",
        "en": "allergic; allergy; anaphyla; bee sting; stung",
        "de": "allergi; allergisch; anaphyla; wespenstich; bienenstich",
        "ar": "حساسية; لسعة نحلة",
        "ru": "аллерги; анафилак; укусила пчела",
    },
    _T.DIABETIC: {
        "tr": "şekeri düştü; şekeri yükseldi; şeker hastası; diyabet; insülin",
        "en": "diabet; blood sugar; hypo$; insulin",
        "de": "unterzucker; diabet; zucker; insulin",
        "ar": "سكري; السكر",
        "ru": "диабет; сахар; инсулин",
    },
    _T.BURNS: {
        "tr": "yanık$; haşlandı; kaynar su; elini yaktı; yüzü yandı",
        "en": "burned$; burnt$; burns$; scald",
        "de": "verbrannt; verbrühung; verbrüht",
        "ar": "حروق",
        "ru": "ожог; обжег",
    },
    _T.SUICIDE_ATTEMPT: {
        "tr": "intihar; kendini asmış; kendini asacak; bileklerini kesti; kendini öldür; atlayacak",
        "en": "suicide; kill myself; kill himself; kill herself; going to jump",
        "de": "suizid; selbstmord; umbringen",
        "ar": "انتحار; ينتحر; قتل نفسه",
        "ru": "суицид; самоубий; покончить с собой; повесил",
    },
    _T.SICK_PERSON: {
        "tr": (
            "ambulans@0.5; hasta$@0.5; fenalaştı; rahatsızlandı; ateşi var; kusuyor; "
            "karnı ağrıyor; başı dönüyor"
        ),
        "en": "ambulance@0.5; sick$; ill$; fever; vomiting; dizzy; unwell",
        "de": (
            "krankenwagen@0.5; rettungswagen@0.5; notarzt@0.5; krank; fieber; erbricht; schwindel"
        ),
        "ar": "إسعاف@0.5; اسعاف@0.5; مريض; حمى; يتقيأ",
        "ru": "скорая@0.5; скорую@0.5; плохо; болен; больн; температур; рвота",
    },
    _T.TRAFFIC_COLLISION: {
        "tr": (
            "kaza$; kazası; kazada; kazaya; kaza yaptı; trafik kazası; çarpıştı; çarpışma; "
            "araba çarptı; devrildi; takla attı; zincirleme; yayaya çarptı"
        ),
        "en": "accident; crash; collision; hit by a car; car hit; rollover; ran over",
        "de": (
            "unfall; *unfall; zusammenstoß; zusammengestoßen; aufgefahren; überschlagen; angefahren"
        ),
        "ar": "حادث; حادث سير; تصادم; اصطدام; دهس",
        "ru": "авари; дтп$; столкнов; сбила машина; сбил; перевернул",
    },
    _T.FOREST_FIRE: {
        "tr": "orman yangını; orman yanıyor; anız yangını",
        "en": "forest fire; wildfire; bushfire",
        "de": "waldbrand",
        "ar": "حريق غابة; حريق غابات; حرائق الغابات",
        "ru": "лесной пожар; горит лес",
    },
    _T.CRIME_WEAPON: {
        "tr": (
            "silah; silahlı; tabanca; ateş açtı; ateş ediyor; vuruldu; kurşun; bıçak; bıçaklandı; "
            "bıçakladı; tüfek; pompalı"
        ),
        "en": "gun$; guns$; gunman; shot$; shooting; shots fired; stabbed; stabbing; knife",
        "de": "waffe; schüsse; geschossen; erschossen; messer; niedergestochen; pistole",
        "ar": "مسدس; سلاح; إطلاق نار; طعن; سكين",
        "ru": "стрельб; выстрел; оружи; нож$; ножом; пистолет; зарезал",
    },
    _T.CRIME_PROPERTY: {
        "tr": (
            "hırsız; hırsızlık; soygun; soydular; gasp; çaldı@0.5; çalındı@0.5; kapıyı kırdı; "
            "eve girdi"
        ),
        "en": "theft; thief; stolen; robbery; robbed; burglar; broke in; break in",
        "de": "diebstahl; dieb$; gestohlen; einbruch; einbrecher; raub$; überfall",
        "ar": "سرقة; سارق; لص$; سطو",
        "ru": "кража; вор$; воры; украли; ограб; взлом",
    },
    _T.DOMESTIC_VIOLENCE: {
        "tr": "aile içi şiddet; beni öldürecek; kadına şiddet",
        "en": "domestic violence; going to kill me",
        "de": "häusliche gewalt; bringt mich um",
        "ar": "عنف أسري; سيقتلني",
        "ru": "домашнее насилие; убьет меня",
    },
    _T.PUBLIC_ORDER: {
        "tr": (
            "gürültü; taşkınlık; izdiham; kalabalık; protesto; sarhoş; rahatsız ediyor; "
            "yolu kapattı"
        ),
        "en": "noise; riot; drunk; disturbance; protest; crowd",
        "de": "lärm; ruhestörung; betrunken; randal; demonstration",
        "ar": "ضجيج; إزعاج; شغب; سكران",
        "ru": "шум$; шумят; пьян; беспоряд; хулиган",
    },
    _T.MISSING_PERSON: {
        "tr": "kayboldu; kayıp; bulamıyoruz; eve dönmedi; eve gelmedi; haber alamıyoruz",
        "en": "missing; lost child; can t find; cannot find; disappeared; not come home",
        "de": "vermisst; verschwunden; nicht nach hause",
        "ar": "مفقود; ضائع; اختفى; تاه",
        "ru": "пропал; потерялс; не могу найти; исчез",
    },
    _T.DROWNING: {
        "tr": "boğuluyor; boğuldu; suya düştü; suya kapıldı; dereye düştü; denizde boğul",
        "en": "drowning; drowned; fell into the water; swept away",
        "de": "ertrinkt; ertrunken; ertrink; ins wasser gefallen",
        "ar": "غرق; يغرق; غريق",
        "ru": "тонет; утонул; утоп; тону",
    },
    _T.SEA_RESCUE: {
        "tr": "tekne; gemi$; gemide; batıyor; battı; açıkta kaldı; sürükleniyor; bot$; botu",
        "en": "boat; ship$; sinking; capsized; adrift; overboard; at sea",
        "de": "boot$; schiff; sinkt; gekentert; über bord; auf see",
        "ar": "قارب; سفينة; مركب; غرق القارب",
        "ru": "лодк; судно; корабл; за бортом; в открытом море",
    },
    _T.EARTHQUAKE_COLLAPSE: {
        "tr": "enkaz altında; enkazda; göçük altında; deprem",
        "en": "earthquake; trapped under; under the rubble",
        "de": "erdbeben; verschüttet; unter den trümmern",
        "ar": "زلزال; زلزلة; تحت الأنقاض",
        "ru": "землетряс; под завалами",
    },
    _T.BUILDING_COLLAPSE: {
        "tr": "bina çöktü; binası çöktü; duvar yıkıldı; balkon çöktü; çatı çöktü",
        "en": "building collapsed; roof collapsed; collapsed building",
        "de": "gebäude eingestürzt; haus eingestürzt; einsturz",
        "ar": "انهيار مبنى; انهار المبنى; سقوط مبنى",
        "ru": "обрушение дома; рухнул дом; обрушил",
    },
    _T.FLOOD: {
        "tr": "sel$; selde$; sele$; sel bastı; su bastı; su baskını; dere taştı; taştı",
        "en": "flood; flooding; water is rising",
        "de": "hochwasser; überschwemmung; überflutet; flut$",
        "ar": "فيضان; سيول; سيل$; غمرت المياه",
        "ru": "наводнен; затоп; потоп; паводок",
    },
    _T.LANDSLIDE: {
        "tr": "heyelan; toprak kayması; çamur; kaya düştü; yol çöktü",
        "en": "landslide; mudslide; rockfall",
        "de": "erdrutsch; murgang; steinschlag; hangrutsch",
        "ar": "انهيار أرضي; انزلاق التربة",
        "ru": "оползень; оползн; сель$; камнепад",
    },
    _T.DISASTER_OTHER: {
        "tr": "çığ$; fırtına; hortum; afet; kasırga",
        "en": "avalanche; storm; tornado; disaster",
        "de": "lawine; sturm; unwetter; tornado; katastrophe",
        "ar": "انهيار ثلجي; عاصفة; إعصار; كارثة",
        "ru": "лавин; ураган; буря; смерч; стихийн",
    },
    _T.HAZARDOUS_MATERIALS: {
        "tr": "kimyasal; tehlikeli madde; zehirli gaz; tanker; radyasyon; asit",
        "en": "chemical; hazmat; toxic; radiation; spill",
        "de": "chemikal; gefahrgut; giftig; strahlung",
        "ar": "مواد كيميائية; كيماوي; مواد خطرة; إشعاع",
        "ru": "химическ; токсич; радиац; опасное вещество",
    },
    _T.GAS_LEAK: {
        "tr": "gaz kaçağı; gaz kokusu; doğalgaz kokusu; gaz kaçırıyor; tüp kaçırıyor",
        "en": "gas leak; smell of gas; smells like gas; gas smell",
        "de": "gasgeruch; riecht nach gas; gasleck; gasaustritt",
        "ar": "تسرب غاز; رائحة غاز",
        "ru": "утечка газа; запах газа; пахнет газом",
    },
    _T.TECHNICAL_RESCUE: {
        "tr": (
            "asansörde kaldı; asansörde mahsur; mahsur; sıkıştı; kuyuya düştü; uçurum; "
            "kilitli kaldı"
        ),
        "en": (
            "stuck in the lift; stuck in the elevator; stuck in elevator; trapped in; locked in; "
            "fell into a well"
        ),
        "de": "aufzug stecken; im aufzug; eingeklemmt; eingesperrt",
        "ar": "عالق في المصعد; محاصر; عالق",
        "ru": "застрял; лифт; заблокирован; зажат",
    },
    _T.ANIMAL: {
        "tr": "köpek; kedi$; kedisi; yılan; ayı$; hayvan; sokak köpekleri",
        "en": "dog$; dogs$; cat$; snake; bear$; animal",
        "de": "hund; katze; schlange; tier$; tiere$",
        "ar": "كلب; قطة; ثعبان; حيوان",
        "ru": "собак; кошк; змея; медвед; животн",
    },
    _T.INFORMATION_REQUEST: {
        "tr": (
            "nöbetçi eczane@2.5; bilgi almak; telefon numarası; sormak istiyorum; "
            "öğrenmek istiyorum"
        ),
        "en": "information; pharmacy; phone number; want to ask; question",
        "de": "auskunft; apotheke; frage$; information",
        "ar": "استفسار; معلومات; صيدلية",
        "ru": "информац; справк; аптек; вопрос",
    },
}

# Combinations: every group must match somewhere in the text, in any order.
_COMBINATIONS: tuple[tuple[IncidentType, float, tuple[dict[str, str], ...]], ...] = (
    (_T.FIRE_OTHER, 1.0, (_FIRE,)),
    (_T.FIRE_BUILDING, 2.0, (_FIRE, _BUILDING)),
    (_T.FIRE_VEHICLE, 2.0, (_FIRE, _VEHICLE)),
    (_T.FIRE_INDUSTRIAL, 2.5, (_FIRE, _INDUSTRY)),
    (_T.FOREST_FIRE, 2.5, (_FIRE, _FOREST)),
    (_T.CRIME_VIOLENCE, 1.0, (_VIOLENCE,)),
    (_T.DOMESTIC_VIOLENCE, 2.5, (_VIOLENCE, _PARTNER)),
    (_T.EARTHQUAKE_COLLAPSE, 3.0, (_QUAKE, _COLLAPSE)),
    (_T.EARTHQUAKE_COLLAPSE, 1.0, (_COLLAPSE,)),
    (_T.GAS_LEAK, 2.0, (_GAS, _SMELL_OR_LEAK)),
    (
        _T.DROWNING,
        2.0,
        (
            _WATER,
            {"tr": "boğul", "en": "drown", "de": "ertrink", "ar": "غرق", "ru": "тонет; тону; утон"},
        ),
    ),
)

# The dialled number: a default type for the family, and a smaller push to its other types.
_DIALLED: Mapping[str, tuple[IncidentType, Family]] = MappingProxyType(
    {
        "110": (_T.FIRE_OTHER, Family.FIRE),
        "155": (_T.SECURITY_OTHER, Family.SECURITY),
        "156": (_T.SECURITY_OTHER, Family.SECURITY),
        "177": (_T.FOREST_FIRE, Family.FOREST),
        "178": (_T.SEA_RESCUE, Family.WATER),
        "122": (_T.DISASTER_OTHER, Family.DISASTER),
    }
)
DIALLED_DEFAULT_WEIGHT = 1.0
DIALLED_FAMILY_WEIGHT = 0.5

_CHANNELS: Mapping[Channel, tuple[IncidentType, float]] = MappingProxyType(
    {
        Channel.ECALL: (_T.TRAFFIC_COLLISION, 2.0),
        Channel.PANIC_APP: (_T.DOMESTIC_VIOLENCE, 3.0),
    }
)


@dataclass(frozen=True, slots=True)
class _Rule:
    incident_type: IncidentType
    weight: float
    language: str
    groups: tuple[tuple[Keyword, ...], ...]
    label: str


def _split(entry: str) -> list[tuple[str, float | None]]:
    specs: list[tuple[str, float | None]] = []
    for raw in entry.split(";"):
        text = raw.strip()
        if not text:
            continue
        spec, _, weight = text.partition("@")
        specs.append((spec.strip(), float(weight) if weight else None))
    return specs


def _build() -> tuple[Lexicon, tuple[_Rule, ...]]:
    lexicon = Lexicon()
    rules: list[_Rule] = []
    for incident_type, by_language in _KEYWORDS.items():
        for language, entry in by_language.items():
            for spec, weight in _split(entry):
                keyword = lexicon.compile(spec)
                default = 1.0 if len(keyword.parts) == 1 else 1.5
                rules.append(_Rule(incident_type, weight or default, language, ((keyword,),), spec))
    for incident_type, weight, groups in _COMBINATIONS:
        for language in LANGUAGES:
            compiled = tuple(
                tuple(lexicon.compile(spec) for spec, _ in _split(group.get(language, "")))
                for group in groups
            )
            if all(compiled):
                names = " + ".join(
                    "|".join(k.spec for k in group[:2]) + ("|..." if len(group) > 2 else "")
                    for group in compiled
                )
                rules.append(_Rule(incident_type, weight, language, compiled, names))
    return lexicon, tuple(rules)


_LEXICON, _RULES = _build()


@dataclass(frozen=True, slots=True, kw_only=True)
class _RuleIndex:
    """The rules seen from their keywords: which keywords a text has decides which rules hold.

    Keywords are numbered once (a keyword shared by several rules is searched once);
    ``rules_of[k]`` are the rules keyword ``k`` takes part in, ``groups[r]`` is ``None`` for
    a rule any of whose keywords suffices, else its groups as sets of keyword numbers.
    """

    keywords: KeywordSet
    rules_of: tuple[tuple[int, ...], ...]
    groups: tuple[tuple[frozenset[int], ...] | None, ...]

    @classmethod
    def of(cls, rules: tuple[_Rule, ...]) -> _RuleIndex:
        """Index a rule table."""
        numbers = {k: n for n, k in enumerate(dict.fromkeys(_keywords_of(rules)))}
        rules_of: list[list[int]] = [[] for _ in numbers]
        groups: list[tuple[frozenset[int], ...] | None] = []
        for index, rule in enumerate(rules):
            by_group = tuple(frozenset(numbers[k] for k in group) for group in rule.groups)
            for number in sorted(frozenset().union(*by_group)):
                rules_of[number].append(index)
            groups.append(None if len(by_group) == 1 else by_group)
        return cls(
            keywords=KeywordSet(tuple(numbers)),
            rules_of=tuple(tuple(r) for r in rules_of),
            groups=tuple(groups),
        )

    def holding(self, lexicon: Lexicon, text: str) -> tuple[int, ...]:
        """The rules whose every group has a keyword in the text, in table order."""
        words, matched = lexicon.text_matches(text)
        hits = self.keywords.occurring(words, matched)
        if not hits:
            return ()
        candidates: set[int] = set()
        for number in hits:
            candidates.update(self.rules_of[number])
        groups = self.groups
        return tuple(
            sorted(
                index
                for index in candidates
                if (rule_groups := groups[index]) is None
                or all(not hits.isdisjoint(group) for group in rule_groups)
            )
        )


def _keywords_of(rules: tuple[_Rule, ...]) -> list[Keyword]:
    return [keyword for rule in rules for group in rule.groups for keyword in group]


_INDEX = _RuleIndex.of(_RULES)
_ORDER = {incident_type: index for index, incident_type in enumerate(IncidentType)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Suggestion:
    """What the classifier proposes; the call-taker confirms or overrides it.

    ``responders`` name ``SECURITY`` where police or gendarmerie is needed; turn them into
    agencies with :meth:`agencies_for` (or ``taxonomy.resolve_agencies``) once the
    incident's ground is known. ``reasons`` list every hint that counted, as
    ``"<source> <what> -> <type> (+weight)"``, so the console can show why.
    """

    incident_type: IncidentType
    priority: Priority
    responders: tuple[Responder, ...]
    confidence: float
    reasons: tuple[str, ...]
    also: tuple[IncidentType, ...] = ()
    questions: tuple[Question, ...] = ()

    @property
    def needs_security(self) -> bool:
        """Whether police, gendarmerie or coast guard (by ground) must be involved."""
        return Responder.SECURITY in self.responders

    def agencies_for(self, ground: Ground | None) -> tuple[Agency, ...]:
        """The agencies concerned once the incident's ground is known (see ``resolve_agencies``)."""
        return resolve_agencies(self.responders, ground)


def classify(
    *,
    channel: Channel,
    dialled: str | None,
    text: str | None,
    answers: Mapping[str, bool] | None = None,
    language: str | None = None,
) -> Suggestion:
    """Suggest an incident type, priority and responders from what is known about a call.

    ``language`` (ISO 639-1, e.g. from the language desk) weights keywords in other
    languages at :data:`OTHER_LANGUAGE_WEIGHT`, Turkish always at full weight. ``answers``
    are the call-taker's yes/no answers keyed as in ``interrogation.QUESTIONS``. The text
    is read up to ``lexicon.MAX_TEXT_CHARS`` characters.

    What the text says comes down to the rules it satisfies; with no answers, the suggestion
    for the same channel, number, language and rules is remembered (suggestions are
    immutable), so a call costs a look-up per word and one per call.
    """
    rules = _INDEX.holding(_LEXICON, text) if text else ()
    hint = ((language or "").lower()[:2] or None) if rules else None
    if answers:
        return _suggest(channel=channel, dialled=dialled, rules=rules, hint=hint, answers=answers)
    key = (channel, dialled, hint, rules)
    suggestion = _SUGGESTIONS.get(key)
    if suggestion is None:
        suggestion = _suggest(
            channel=channel, dialled=dialled, rules=rules, hint=hint, answers=None
        )
        if len(_SUGGESTIONS) >= _SUGGESTION_CACHE_SIZE:
            _SUGGESTIONS.clear()  # bounded: numbers and languages come from callers
        _SUGGESTIONS[key] = suggestion
    return suggestion


#: Suggestions remembered by (channel, number dialled, language hint, rules that held).
_SUGGESTION_CACHE_SIZE = 4_096
_SUGGESTIONS: dict[tuple[Channel, str | None, str | None, tuple[int, ...]], Suggestion] = {}


def _suggest(
    *,
    channel: Channel,
    dialled: str | None,
    rules: tuple[int, ...],
    hint: str | None,
    answers: Mapping[str, bool] | None,
) -> Suggestion:
    """Score the channel, the number and the rules that held (indexes into ``_RULES``)."""
    scores: dict[IncidentType, float] = {}
    reasons: list[str] = []

    def add(incident_type: IncidentType, weight: float, reason: str) -> None:
        scores[incident_type] = scores.get(incident_type, 0.0) + weight
        reasons.append(f"{reason} -> {incident_type.value} (+{weight:g})")

    channel_hint = _CHANNELS.get(channel)
    if channel_hint is not None:
        add(channel_hint[0], channel_hint[1], f"channel {channel.value}")

    dialled_hint = _DIALLED.get((dialled or "").strip())
    if dialled_hint is not None:
        default, family = dialled_hint
        add(default, DIALLED_DEFAULT_WEIGHT, f"dialled {dialled}")
        for spec in TAXONOMY.values():
            if spec.family is family and spec.incident_type is not default:
                scores[spec.incident_type] = (
                    scores.get(spec.incident_type, 0.0) + DIALLED_FAMILY_WEIGHT
                )

    for rule in (_RULES[index] for index in rules):
        weight = rule.weight
        if hint is not None and rule.language not in {hint, "tr"}:
            weight *= OTHER_LANGUAGE_WEIGHT
        add(rule.incident_type, weight, f"keyword {rule.language} '{rule.label}'")

    ranked = sorted(
        ((score, incident_type) for incident_type, score in scores.items() if score > 0),
        key=lambda item: (
            -item[0],
            TAXONOMY[item[1]].family is Family.MEDICAL,
            TAXONOMY[item[1]].priority,
            _ORDER[item[1]],
        ),
    )
    if ranked:
        best_score, best = ranked[0]
        runner_up = ranked[1][0] if len(ranked) > 1 else 0.0
        confidence = best_score / (best_score + runner_up + 1.0)
    else:
        best, confidence = IncidentType.UNKNOWN, 0.0

    refinement = refine(best, answers)
    incident_type = refinement.incident_type
    priority = refinement.priority
    if refinement.reason is not None:
        reasons.append(f"answers '{refinement.reason}' -> priority {int(priority)}")
    family = TAXONOMY[incident_type].family
    also = tuple(
        other
        for score, other in ranked[1:]
        if score >= ALSO_THRESHOLD
        and other not in {incident_type, best}
        and (TAXONOMY[other].family is not family or TAXONOMY[other].priority < priority)
    )
    responders = list(TAXONOMY[incident_type].responders)
    for responder in refinement.adds:
        if responder not in responders:
            responders.append(responder)
    for other in also:
        spec = TAXONOMY[other]
        priority = min(priority, spec.priority)
        responders.extend(r for r in spec.responders if r not in responders)
    if channel is Channel.PANIC_APP:
        priority = Priority.IMMEDIATE
    return Suggestion(
        incident_type=incident_type,
        priority=Priority(priority),
        responders=tuple(responders),
        confidence=round(confidence, 3),
        reasons=tuple(reasons),
        also=also,
        questions=questions_for(incident_type),
    )
