"""The incident-type taxonomy: what happened, who responds, how urgent by default.

Every incident type maps to the responders concerned and a default priority. Police and
gendarmerie are not chosen here: a type that needs either names the ``SECURITY`` responder, and
:func:`resolve_agencies` turns it into police (urban ground), gendarmerie (rural ground) or the
coast guard (at sea) once the incident's placement is known. Classification
(``dispatch.core.classification``) and the structured interrogation
(``dispatch.core.interrogation``) refine the default priority; duplicate clustering
(``dispatch.core.clustering``) uses each type's family to decide which calls may describe the
same incident.

Values are wire values (``StrEnum``): renaming one is a schema change; add members freely.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from dispatch.model.vocabulary import Agency, Ground, Priority


class IncidentType(enum.StrEnum):
    """What happened, as the call-taker records it."""

    # Medical, by chief complaint.
    CARDIAC_ARREST = "medical.cardiac_arrest"
    CHEST_PAIN = "medical.chest_pain"
    BREATHING_PROBLEM = "medical.breathing_problem"
    UNCONSCIOUS = "medical.unconscious"
    STROKE = "medical.stroke"
    BLEEDING_INJURY = "medical.bleeding_injury"
    CHILDBIRTH = "medical.childbirth"
    POISONING = "medical.poisoning"
    SEIZURE = "medical.seizure"
    ALLERGIC_REACTION = "medical.allergic_reaction"
    DIABETIC = "medical.diabetic"
    BURNS = "medical.burns"
    SUICIDE_ATTEMPT = "medical.suicide_attempt"
    SICK_PERSON = "medical.sick_person"
    # Roads.
    TRAFFIC_COLLISION = "traffic.collision"
    # Fire, by kind.
    FIRE_BUILDING = "fire.building"
    FIRE_VEHICLE = "fire.vehicle"
    FIRE_INDUSTRIAL = "fire.industrial"
    FIRE_OTHER = "fire.other"
    FOREST_FIRE = "forest.fire"
    # Security.
    CRIME_VIOLENCE = "security.violence"
    CRIME_WEAPON = "security.weapon"
    CRIME_PROPERTY = "security.property"
    DOMESTIC_VIOLENCE = "security.domestic_violence"
    PUBLIC_ORDER = "security.public_order"
    MISSING_PERSON = "security.missing_person"
    SECURITY_OTHER = "security.other"
    # Water.
    DROWNING = "water.drowning"
    SEA_RESCUE = "water.sea_rescue"
    # Disasters.
    EARTHQUAKE_COLLAPSE = "disaster.earthquake_collapse"
    BUILDING_COLLAPSE = "disaster.building_collapse"
    FLOOD = "disaster.flood"
    LANDSLIDE = "disaster.landslide"
    DISASTER_OTHER = "disaster.other"
    # Dangerous substances.
    HAZARDOUS_MATERIALS = "hazmat.materials"
    GAS_LEAK = "hazmat.gas_leak"
    # Everything else.
    TECHNICAL_RESCUE = "rescue.technical"
    ANIMAL = "other.animal"
    INFORMATION_REQUEST = "other.information_request"
    UNKNOWN = "other.unknown"


class Responder(enum.StrEnum):
    """Who must respond, before the ground decides between police and gendarmerie."""

    HEALTH = "health"
    SECURITY = "security"
    FIRE = "fire"
    FOREST = "forest"
    COAST_GUARD = "coast_guard"
    AFAD = "afad"


class Family(enum.StrEnum):
    """Coarse groups of incident types, used to decide which calls may be duplicates."""

    MEDICAL = "medical"
    TRAFFIC = "traffic"
    FIRE = "fire"
    FOREST = "forest"
    SECURITY = "security"
    WATER = "water"
    DISASTER = "disaster"
    HAZMAT = "hazmat"
    RESCUE = "rescue"
    ANIMAL = "animal"
    INFORMATION = "information"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True, kw_only=True)
class TypeSpec:
    """One row of the taxonomy: responders, default priority, family and labels."""

    incident_type: IncidentType
    family: Family
    responders: tuple[Responder, ...]
    priority: Priority
    label_tr: str
    label_en: str


_H = Responder.HEALTH
_S = Responder.SECURITY
_F = Responder.FIRE
_O = Responder.FOREST
_C = Responder.COAST_GUARD
_A = Responder.AFAD
_P1 = Priority.IMMEDIATE
_P2 = Priority.URGENT
_P3 = Priority.PROMPT
_P4 = Priority.ROUTINE
_T = IncidentType
_M = Family

_ROWS: tuple[tuple[IncidentType, Family, tuple[Responder, ...], Priority, str, str], ...] = (
    (_T.CARDIAC_ARREST, _M.MEDICAL, (_H,), _P1, "Kalp durması", "Cardiac arrest"),
    (_T.CHEST_PAIN, _M.MEDICAL, (_H,), _P2, "Göğüs ağrısı", "Chest pain"),
    (_T.BREATHING_PROBLEM, _M.MEDICAL, (_H,), _P2, "Solunum güçlüğü", "Breathing problem"),
    (_T.UNCONSCIOUS, _M.MEDICAL, (_H,), _P1, "Bilinç kaybı", "Unconscious person"),
    (_T.STROKE, _M.MEDICAL, (_H,), _P1, "İnme", "Stroke"),
    (_T.BLEEDING_INJURY, _M.MEDICAL, (_H,), _P2, "Kanama veya yaralanma", "Bleeding or injury"),
    (_T.CHILDBIRTH, _M.MEDICAL, (_H,), _P2, "Doğum", "Childbirth"),
    (_T.POISONING, _M.MEDICAL, (_H,), _P2, "Zehirlenme", "Poisoning or overdose"),
    (_T.SEIZURE, _M.MEDICAL, (_H,), _P2, "Nöbet", "Seizure"),
    (_T.ALLERGIC_REACTION, _M.MEDICAL, (_H,), _P2, "Alerjik reaksiyon", "Allergic reaction"),
    (_T.DIABETIC, _M.MEDICAL, (_H,), _P3, "Şeker hastalığı", "Diabetic problem"),
    (_T.BURNS, _M.MEDICAL, (_H,), _P2, "Yanık", "Burns"),
    (_T.SUICIDE_ATTEMPT, _M.MEDICAL, (_H, _S), _P1, "İntihar girişimi", "Suicide attempt"),
    (_T.SICK_PERSON, _M.MEDICAL, (_H,), _P3, "Hasta kişi", "Sick person"),
    (_T.TRAFFIC_COLLISION, _M.TRAFFIC, (_H, _S), _P2, "Trafik kazası", "Traffic collision"),
    (_T.FIRE_BUILDING, _M.FIRE, (_F, _H, _S), _P1, "Bina yangını", "Building fire"),
    (_T.FIRE_VEHICLE, _M.FIRE, (_F, _S), _P2, "Araç yangını", "Vehicle fire"),
    (_T.FIRE_INDUSTRIAL, _M.FIRE, (_F, _H, _S, _A), _P1, "Sanayi yangını", "Industrial fire"),
    (_T.FIRE_OTHER, _M.FIRE, (_F,), _P2, "Yangın", "Fire, other or unspecified"),
    (_T.FOREST_FIRE, _M.FOREST, (_O, _F, _S), _P1, "Orman yangını", "Forest fire"),
    (_T.CRIME_VIOLENCE, _M.SECURITY, (_S, _H), _P2, "Darp veya kavga", "Assault or fight"),
    (_T.CRIME_WEAPON, _M.SECURITY, (_S, _H), _P1, "Silahlı olay", "Shooting or stabbing"),
    (_T.CRIME_PROPERTY, _M.SECURITY, (_S,), _P3, "Hırsızlık", "Theft, burglary or robbery"),
    (_T.DOMESTIC_VIOLENCE, _M.SECURITY, (_S, _H), _P1, "Aile içi şiddet", "Domestic violence"),
    (_T.PUBLIC_ORDER, _M.SECURITY, (_S,), _P3, "Asayiş", "Public order"),
    (_T.MISSING_PERSON, _M.SECURITY, (_S,), _P2, "Kayıp kişi", "Missing person"),
    (_T.SECURITY_OTHER, _M.SECURITY, (_S,), _P3, "Güvenlik olayı", "Security, unspecified"),
    (_T.DROWNING, _M.WATER, (_H, _S, _F), _P1, "Boğulma", "Drowning"),
    (_T.SEA_RESCUE, _M.WATER, (_C, _H), _P1, "Denizde arama kurtarma", "Sea rescue"),
    (
        _T.EARTHQUAKE_COLLAPSE,
        _M.DISASTER,
        (_A, _F, _H, _S),
        _P1,
        "Deprem, enkaz",
        "Earthquake, collapse",
    ),
    (_T.BUILDING_COLLAPSE, _M.DISASTER, (_F, _A, _H, _S), _P1, "Bina çökmesi", "Building collapse"),
    (_T.FLOOD, _M.DISASTER, (_A, _F, _S), _P2, "Sel, su baskını", "Flood"),
    (_T.LANDSLIDE, _M.DISASTER, (_A, _F, _H, _S), _P1, "Heyelan", "Landslide"),
    (_T.DISASTER_OTHER, _M.DISASTER, (_A,), _P2, "Afet", "Disaster, other"),
    (
        _T.HAZARDOUS_MATERIALS,
        _M.HAZMAT,
        (_F, _A, _H, _S),
        _P1,
        "Tehlikeli madde",
        "Hazardous materials",
    ),
    (_T.GAS_LEAK, _M.HAZMAT, (_F,), _P2, "Gaz kaçağı", "Gas leak"),
    (_T.TECHNICAL_RESCUE, _M.RESCUE, (_F, _H), _P2, "Teknik kurtarma", "Technical rescue"),
    (_T.ANIMAL, _M.ANIMAL, (_F,), _P4, "Hayvan kurtarma", "Animal"),
    (_T.INFORMATION_REQUEST, _M.INFORMATION, (), _P4, "Bilgi talebi", "Information request"),
    (_T.UNKNOWN, _M.UNKNOWN, (), _P3, "Belirsiz", "Unknown"),
)

#: The taxonomy, one row per incident type.
TAXONOMY: Mapping[IncidentType, TypeSpec] = MappingProxyType(
    {
        row[0]: TypeSpec(
            incident_type=row[0],
            family=row[1],
            responders=row[2],
            priority=row[3],
            label_tr=row[4],
            label_en=row[5],
        )
        for row in _ROWS
    }
)


def spec(incident_type: IncidentType) -> TypeSpec:
    """The taxonomy row of one incident type."""
    return TAXONOMY[incident_type]


_PLAIN: Mapping[Responder, Agency] = MappingProxyType(
    {
        Responder.HEALTH: Agency.HEALTH,
        Responder.FIRE: Agency.FIRE,
        Responder.FOREST: Agency.FOREST,
        Responder.COAST_GUARD: Agency.COAST_GUARD,
        Responder.AFAD: Agency.AFAD,
    }
)


def resolve_agencies(responders: Iterable[Responder], ground: Ground | None) -> tuple[Agency, ...]:
    """The agencies to hand an incident to, once its ground is known.

    ``SECURITY`` becomes police on police ground, gendarmerie on gendarmerie ground and the
    coast guard at sea. With no ground known (no placement yet, or outside the service
    area) it becomes both police and gendarmerie: handing off to both is safer than to
    neither, and the dispatcher who finds it is not theirs hands it back. Order follows the
    responders, without repeats.
    """
    agencies: list[Agency] = []
    for responder in responders:
        if responder is Responder.SECURITY:
            if ground is Ground.POLICE:
                resolved: tuple[Agency, ...] = (Agency.POLICE,)
            elif ground is Ground.GENDARMERIE:
                resolved = (Agency.GENDARMERIE,)
            elif ground is Ground.COAST_GUARD:
                resolved = (Agency.COAST_GUARD,)
            else:
                resolved = (Agency.POLICE, Agency.GENDARMERIE)
        else:
            resolved = (_PLAIN[responder],)
        agencies.extend(agency for agency in resolved if agency not in agencies)
    return tuple(agencies)
