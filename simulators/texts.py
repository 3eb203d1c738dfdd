"""What simulated callers say: Turkish texts per incident type, foreign callers, false calls.

Texts are what a call-taker would type as the caller's words (or what a text-chat user
writes). They are fixed phrases with a few slots filled from the caller's place, enough
for classification and language detection to have something real to work on.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from types import MappingProxyType

#: Turkish phrases by incident type (taxonomy wire values).
TURKISH: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "medical.cardiac_arrest": (
            "Babam yere yığıldı, nefes almıyor, kalbi durdu galiba",
            "Annem bayıldı, nabzını alamıyorum, acil ambulans",
        ),
        "medical.chest_pain": (
            "Eşimin göğsünde şiddetli ağrı var, sol koluna vuruyor",
            "Göğsüm sıkışıyor, nefesim daralıyor",
        ),
        "medical.breathing_problem": (
            "Çocuğum nefes alamıyor, astım krizi geçiriyor",
            "Yaşlı komşum nefes almakta çok zorlanıyor",
        ),
        "medical.unconscious": (
            "Sokakta bir adam baygın yatıyor, tepki vermiyor",
            "Dedem bilincini kaybetti, uyandıramıyoruz",
        ),
        "medical.stroke": ("Annemin ağzı kaydı, konuşamıyor, bir tarafı tutmuyor",),
        "medical.bleeding_injury": (
            "Merdivenden düştü, başından çok kan geliyor",
            "Elini bıçakla kesti, kanama durmuyor",
        ),
        "medical.childbirth": ("Eşimin suyu geldi, doğum başladı, hastaneye yetişemiyoruz",),
        "medical.poisoning": ("Çocuk deterjan içmiş, kusuyor",),
        "medical.seizure": ("Kardeşim kriz geçiriyor, titriyor, ağzından köpük geliyor",),
        "medical.sick_person": (
            "Babamın ateşi çok yüksek, kendinde değil",
            "Yaşlı annem çok fenalaştı, ambulans lazım",
        ),
        "traffic.collision": (
            "Kavşakta iki araç çarpıştı, yaralılar var",
            "Otoyolda zincirleme kaza oldu, araçta sıkışan var",
            "Motosiklet devrildi, sürücü yerde yatıyor",
        ),
        "fire.building": (
            "Apartmandan duman çıkıyor, üçüncü katta yangın var",
            "Evimiz yanıyor, içeride yaşlı biri kaldı",
        ),
        "fire.vehicle": ("Yolda bir otomobil alev aldı",),
        "fire.other": ("Boş arsada çöpler yanıyor, alevler büyüyor",),
        "forest.fire": (
            "Ormandan duman yükseliyor, yangın köye doğru geliyor",
            "Tepede orman yangını başladı, rüzgâr çok sert",
        ),
        "security.violence": (
            "Sokakta kavga var, birini bıçakladılar",
            "Komşular birbirine saldırıyor, çok bağırış var",
        ),
        "security.weapon": ("Silah sesleri geliyor, biri ateş ediyor",),
        "security.property": (
            "Arabamın camını kırıp içini soymuşlar",
            "Dükkânıma hırsız girmiş, kapı kırık",
        ),
        "security.domestic_violence": (
            "Eşim beni dövüyor, kapıyı kilitledim, yardım edin",
            "Yan dairede bir kadın çığlık atıyor, dövülüyor",
        ),
        "security.public_order": ("Parkta gürültü yapan kalabalık var, taşkınlık çıkıyor",),
        "security.missing_person": ("Yedi yaşındaki oğlum okuldan dönmedi, bulamıyoruz",),
        "water.drowning": ("Denizde biri boğuluyor, kıyıdan çok uzakta",),
        "water.sea_rescue": ("Teknemiz arızalandı, açıkta sürükleniyoruz",),
        "disaster.building_collapse": ("Eski bina çöktü, enkaz altında insanlar var",),
        "disaster.flood": ("Sel bastı, evin alt katı su doldu, mahsur kaldık",),
        "disaster.landslide": ("Heyelan oldu, yol kapandı, evlerin üstüne toprak geldi",),
        "hazmat.gas_leak": ("Apartmanda yoğun gaz kokusu var",),
        "other.animal": ("Yola başıboş köpek sürüsü çıktı, çocuklara saldırıyor",),
    }
)

#: Earthquake calls about a collapsed building; ``{place}`` is filled with a place name.
EARTHQUAKE_COLLAPSE: tuple[str, ...] = (
    "Deprem oldu, {place}'da bina çöktü, enkaz altında insanlar var",
    "{place}, bizim apartman yıkıldı, sesler geliyor, yardım edin",
    "Enkazın altında annem kaldı, {place}, çok acele edin",
    "Deprem! Beş katlı bina tamamen çöktü, {place}",
    "Göçük altında kalanlar var, {place} merkez, sesimizi duyan yok",
)

#: Other earthquake calls: people shaken, hurt at home, asking what to do.
EARTHQUAKE_OTHER: tuple[str, ...] = (
    "Çok şiddetli sallandı, evde çatlaklar var, dışarı çıktık",
    "Deprem sırasında düştüm, bacağım kırıldı galiba",
    "Annem panik atak geçiriyor, nefes alamıyor",
    "Deprem oldu, toplanma alanı nerede?",
    "Binamızda büyük çatlaklar oluştu, içeri girebilir miyiz?",
)

#: False calls: pranks, pocket dials with stray words, information requests.
FALSE_CALLS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "prank": ("Şaka yaptım, kapatıyorum", "Alo, pizza siparişi vermek istiyorum"),
        "pocket_dial": ("...", "(arka planda konuşma sesleri, arayan yanıt vermiyor)"),
        "information_request": (
            "Nöbetçi eczane hangisi acaba?",
            "Elektrikler ne zaman gelecek?",
            "Hastanenin telefon numarasını öğrenebilir miyim?",
        ),
        "silent": ("(sessizlik)",),
    }
)

#: Foreign callers, by language: (generic emergency phrases).
FOREIGN: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "en": (
            "Help, my husband collapsed at the hotel and is not breathing",
            "There was a car accident near the beach, two people are injured",
            "Our boat engine stopped and we are drifting away from the shore",
            "Someone stole my bag and passport at the market",
        ),
        "ru": (
            "Помогите, моему мужу плохо, он потерял сознание в отеле",
            "Авария на дороге, есть пострадавшие, нужна скорая",
            "Ребёнок тонет в бассейне, срочно",
        ),
        "de": (
            "Hilfe, meine Frau ist gestürzt und blutet stark am Kopf",
            "Es gab einen Unfall auf der Straße, ein Mann liegt verletzt",
        ),
        "ar": (
            "ساعدوني، والدي سقط ولا يتنفس",
            "حادث سيارة قرب الفندق، يوجد مصابون",
        ),
    }
)

#: A foreign SIM's country code per language, to make the caller's number plausible.
FOREIGN_PREFIX: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"en": ("44", "1", "353"), "ru": ("7",), "de": ("49", "43"), "ar": ("966", "971", "964")}
)

#: Text-chat openers (deaf and hard-of-hearing users write what happened).
TEXT_OPENERS: tuple[str, ...] = ("İşitme engelliyim, yazıyorum: ", "Konuşamıyorum, yazıyorum: ")

#: What a panic-app alarm carries as text.
PANIC_TEXT = "KADES acil yardım butonuna basıldı"


def turkish(rng: random.Random, incident_type: str) -> str:
    """A Turkish description of an incident of this type."""
    phrases = TURKISH.get(incident_type) or TURKISH["medical.sick_person"]
    return rng.choice(phrases)


def foreign(rng: random.Random, language: str) -> str:
    """A description in a foreign caller's language."""
    return rng.choice(FOREIGN[language])
