"""Query understanding: key terms, compounds, the thesaurus, associations, sentences."""

from __future__ import annotations

import pytest

from marketplace.search import associations, explain, terms, thesaurus

JUNK = {
    "一家", "希望", "效成", "金银", "kg", "60%", "60", "分点", "百分点", "霉毒",
    "提高", "减少", "我们", "公司", "生产", "解决", "企业", "每吨",
}  # fmt: skip


def known(word: str) -> float:
    """An idf lookup for which every word is in the catalogue."""
    return 1.0


@pytest.mark.parametrize(
    "word",
    ["kg", "60%", "60", "百分点", "我们", "公司", "一家", "提高", "减少", "希望",
     "解决", "生产", "每吨", "驻马店", "西平", "x", "的", "mpa", "60kg", "5g",
     "2024", "背景", "期限", "预算", "技术要求", "合作方式"],
)  # fmt: skip
def test_units_numbers_boilerplate_and_places_are_never_terms(word):
    assert not terms.is_term(word)


@pytest.mark.parametrize(
    "word",
    ["黄曲霉毒素", "保鲜", "防腐剂", "cod", "plc", "除臭", "tio2", "h2o2", "q235"],
)
def test_technical_words_are_terms(word):
    assert terms.is_term(word)


def test_compounds_split_into_words_never_junk_ngrams():
    assert terms.fragments("黄曲霉毒素") == ("黄曲霉", "毒素")
    assert "霉毒" not in terms.fragments("黄曲霉毒素")
    assert terms.fragments("秸秆综合利用") == ("秸秆", "综合利用")
    assert "效成" not in terms.fragments("有效成分")
    assert terms.fragments("毒素") == ()


def test_enterprise_wording_gives_no_junk_terms():
    text = (
        "我们是一家食品加工企业，想提高小麦粉的保鲜期，减少防腐剂使用。"
        "芝麻油出油率低于60%，每吨成本高出5个百分点，kg 计价。"
    )
    found = terms.key_terms(text, known, 32, 0.3, 0.6)
    words = {t.word for t in found}
    assert not words & JUNK
    assert {"保鲜期", "防腐剂", "芝麻油"} <= words


def test_fragments_weigh_less_than_the_whole_word():
    found = {t.word: t for t in terms.key_terms("黄曲霉毒素检测", known, 32, 0.3, 0.6)}
    assert found["黄曲霉毒素"].kind == "user"
    assert found["毒素"].kind == "fragment"
    assert found["毒素"].source == "黄曲霉毒素"
    assert found["毒素"].weight < found["黄曲霉毒素"].weight / 2


def test_a_compound_the_catalogue_lacks_is_replaced_by_its_fragments():
    def idf_of(word):
        return 0.0 if word == "黄曲霉毒素" else 1.0

    found = {t.word: t for t in terms.key_terms("黄曲霉毒素", idf_of, 32, 0.3, 0.6)}
    # It cannot match, but counts against every match's coverage.
    assert found["黄曲霉毒素"].kind == "missing"
    assert found["毒素"].weight == pytest.approx(0.6)


def test_thesaurus_lines_parse_and_bad_lines_name_file_and_line(tmp_path):
    (tmp_path / "agriculture.txt").write_text(
        "# 注释\n\n臭味、异味 => 除臭, 恶臭\n结块 => 防结块\n", encoding="utf-8"
    )
    table = thesaurus.read(tmp_path)
    assert table["臭味"].terms == ("除臭", "恶臭")
    assert table["异味"].field == "agriculture"
    (tmp_path / "environment.txt").write_text("没有箭头的行\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"environment.txt:1"):
        thesaurus.read(tmp_path)


def test_the_packaged_thesaurus_parses_and_maps_symptoms_to_research_words():
    table = thesaurus.table()
    assert len(table) > 200
    expanded = dict(thesaurus.expand("养猪场臭味大，面粉结块", set()))
    assert expanded.get("除臭") == "臭味"
    assert any(src == "结块" for src in expanded.values())
    for entry in table.values():
        for term in entry.terms:
            assert not terms._DIGIT.search(term)


def test_associations_find_terms_that_keep_company():
    texts = [(f"畜禽粪污除臭技术 恶臭 样本{i}", ["恶臭"]) for i in range(8)]
    texts += [(f"锂电池正极材料 循环寿命 电解液 编号{i}", ["锂电池"]) for i in range(8)]
    texts += [(f"小麦赤霉病 抗病品种 镰刀菌 记录{i}", []) for i in range(8)]
    # A catalogue where those words are rare, as technical words are.
    texts += [("的和与及", [])] * 150
    table = associations.learn(texts)
    assert "畜禽" not in dict(table.get("除臭", [])), "not a keyword of any listing"
    partners = dict(table.get("除臭", []))
    assert "恶臭" in partners
    assert "锂电池" not in partners


def test_association_tables_round_trip(tmp_path):
    path = associations.write(tmp_path / "a.tsv", {"除臭": [("恶臭", 0.81)]})
    assert associations.read(path) == {"除臭": [("恶臭", 0.81)]}


def test_best_sentence_marks_terms_and_escapes_the_rest():
    text = "引言部分。<b>恶臭</b>气体经生物滤池除臭后达标；其他内容。"
    marked = explain.best_sentence(text, {"除臭": 1.0, "恶臭": 1.0})
    assert "<mark>除臭</mark>" in marked and "<mark>恶臭</mark>" in marked
    assert "<b>" not in marked and "&lt;b&gt;" in marked
    assert "引言" not in marked
    assert explain.best_sentence(text, {"锂电池": 1.0}) == ""
