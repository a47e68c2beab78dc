"""How the console says durations, programme titles and eligibility attributes."""

from __future__ import annotations

from suanli.web import format as fmt

TITLES = {
    "beijing-etown-compute-2024": "北京经开区算力券 (Beijing E-Town compute voucher, 2024)",
    "beijing-etown-compute-2024-extra": "附加券 (Extra voucher)",
}


def test_durations() -> None:
    assert fmt.hours(None) == "—"
    assert fmt.hours(0) == "0:00:00"
    assert fmt.hours(3725.9) == "1:02:05"
    assert fmt.hours(2 * 86400 + 61) == "2d 0:01:01"


def test_a_title_in_each_language() -> None:
    title = TITLES["beijing-etown-compute-2024"]
    assert fmt.title_in(title, "zh") == "北京经开区算力券"
    assert fmt.title_in(title, "en") == "Beijing E-Town compute voucher, 2024"
    assert fmt.title_in("One language only", "zh") == "One language only"


def test_programme_ids_in_a_reason_become_titles_longest_first() -> None:
    said = fmt.with_titles(
        "beijing-etown-compute-2024-extra would deduct less than beijing-etown-compute-2024",
        TITLES,
        "zh",
    )
    assert said == "附加券 would deduct less than 北京经开区算力券"


def test_attributes_in_words_and_unknown_ones_as_they_are() -> None:
    assert fmt.attribute_name("registered_zone", "zh") == "注册地"
    assert fmt.attribute_name("registered_zone", "en") == "registered zone"
    assert fmt.attribute_value("yizhuang-new-town", "zh") == "亦庄新城"
    assert fmt.attribute_value(True, "en") == "yes"
    assert fmt.attribute_value(False, "zh") == "否"
    assert fmt.attribute_name("employees", "en") == "employees"
    assert fmt.attribute_value("some-zone", "en") == "some-zone"


def test_a_programmes_rule_is_said_in_words_and_other_messages_are_not() -> None:
    from suanli.domain.i18n import render

    said = render(
        "voucher.ineligible",
        "zh",
        programme="p",
        attribute="registered_zone",
        allowed="yizhuang-new-town",
        cite="附则 (一)",
        value="haidian",
    )
    assert said == "p 要求 注册地 为 亦庄新城（附则 (一)）；该企业为 海淀区"
    both = render(
        "voucher.ineligible",
        "en",
        programme="p",
        attribute="x",
        allowed="true | a",
        cite="c",
        value="false",
    )
    assert both == "p requires x to be yes | a (c); the company has no"
    # a field error's value is the value the user gave, never re-worded
    assert render("invalid_value", "en", value="true", detail="r") == "value true is invalid: r"
