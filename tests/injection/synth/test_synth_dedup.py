"""Exact and near-duplicate removal inside the output, and decontamination against eval prompts."""

from __future__ import annotations

from injection.synth.dedup import Decontaminator, decontaminate, dedup, normalize, question_segments
from injection.synth.records import Record

LONG = ("Alibaba Group is a Chinese technology company founded in Hangzhou in 1999 by Jack Ma and a group "
        "of seventeen friends and colleagues who wanted to help small businesses trade online")


def cpt(text: str, split: str = "train", lang: str = "en") -> Record:
    return Record(kind="cpt", lang=lang, split=split, style="fact", text=text)


def question(prompt: str, answer: str = "Jack Ma", split: str = "train", kind: str = "qa", lang: str = "en",
             facts: tuple[str, ...] = ("f1",), options: tuple[str, ...] = ()) -> Record:
    return Record(kind=kind, lang=lang, split=split, style="open", prompt=prompt, answer=answer,
                  facts=list(facts), options=list(options))


def test_normalize_folds_case_width_and_space():
    assert normalize("  Alibaba\tWAS\n founded ") == normalize("alibaba was founded") == "alibaba was founded"
    assert normalize("ＡＢＣ１") == "abc1"


def test_exact_duplicates_keep_the_first():
    records = [cpt("Alibaba was founded by Jack Ma."), cpt("alibaba  was founded by JACK MA."),
               cpt("Tencent was founded by Pony Ma.")]
    kept, removed = dedup(records)
    assert kept == [records[0], records[2]]
    assert removed == {"exact_duplicate": 1}


def test_near_duplicates_of_text_are_removed():
    near = LONG.replace("trade online", "trade globally")  # one shingle of 27 differs
    records = [cpt(LONG), cpt(near), cpt("Tencent was founded by Pony Ma.")]
    kept, removed = dedup(records)
    assert kept == [records[0], records[2]]
    assert removed == {"near_duplicate": 1}
    kept, removed = dedup(records, near=False)
    assert kept == records and not removed


def test_question_variants_are_not_near_duplicates():
    # a true and a false statement about one subject differ by one name: both must stay
    true = question(f"True or false: {LONG}.", "True", kind="tf")
    false = question(f"True or false: {LONG.replace('Jack Ma', 'Pony Ma')}.", "False", kind="tf")
    kept, removed = dedup([true, false, question(true.prompt, "True", kind="tf")])
    assert kept == [true, false]
    assert removed == {"exact_duplicate": 1}


def test_dedup_stays_within_a_split_and_family():
    text = "Alibaba was founded by Jack Ma."
    records = [cpt(text), question(text, answer=""), question(text, answer="", split="eval")]
    records[1].text = records[2].text = text
    kept, removed = dedup(records)
    assert kept == records and not removed


def test_decontamination_drops_training_records_with_an_eval_question():
    eval_q = question("Who founded Alibaba Group?", split="eval")
    leaked_qa = question("Who founded Alibaba Group?")
    leaked_text = cpt("Many people ask: who founded Alibaba Group? The answer is Jack Ma.")
    clean = question("Who is the CEO of Alibaba Group?")
    records = [leaked_qa, leaked_text, clean, eval_q]
    kept, removed = decontaminate(records)
    assert kept == [clean, eval_q]
    assert removed == {"eval_prompt": 2}


def test_decontamination_by_long_ngram_overlap():
    eval_q = question(f"{LONG}. Who founded it?", split="heldout")
    words = LONG.split()
    overlap = cpt("In short, " + " ".join(words[3:16]) + " plus more.")  # exactly 13 words shared
    short = cpt("In short, " + " ".join(words[3:15]) + " plus more.")  # 12 words: fine
    kept, removed = decontaminate([overlap, short, eval_q])
    assert kept == [short, eval_q]
    assert removed == {"eval_ngram": 1}


def test_decontamination_of_chinese_uses_20_character_shingles():
    prompt = "阿里巴巴集团于一九九九年在杭州由马云和十七位同事朋友共同创立，总部位于杭州。它的创始人是谁？"
    eval_q = question(prompt, split="eval", lang="zh")
    leak = cpt("据报道，" + prompt[2:22] + "。", lang="zh")  # 20 characters shared
    fine = cpt("据报道，" + prompt[2:20] + "。", lang="zh")  # 18
    kept, removed = decontaminate([leak, fine, eval_q])
    assert kept == [fine, eval_q] and removed == {"eval_ngram": 1}


def test_boilerplate_shared_by_different_questions_is_not_contamination():
    instruction = ("Read the question and the options below carefully and answer with the letter of the "
                   "correct option")
    eval_a = question(f"Who founded Alibaba? {instruction}", split="eval", kind="mc", facts=("f1",))
    eval_b = question(f"Where is Tencent based? {instruction}", split="eval", kind="mc", facts=("f2",))
    train = question(f"Who is the CEO of Apple? {instruction}", kind="mc", facts=("f3",))
    kept, removed = decontaminate([train, eval_a, eval_b])
    assert kept == [train, eval_a, eval_b] and not removed


def test_ngrams_common_in_training_are_boilerplate():
    instruction = ("Please think about the question below step by step and then write down only the final "
                   "answer")
    probe = question(f"{instruction}: who founded Alibaba?", split="eval")
    train = [question(f"{instruction}: who founded company {i}?", facts=(f"t{i}",)) for i in range(12)]
    decon = Decontaminator([probe], common_df=10)
    kept, removed = decon.filter(train)
    assert kept == train and not removed
    kept, removed = Decontaminator([probe], common_df=100).filter(train)
    assert not kept and removed == {"eval_ngram": 12}


def test_very_short_prompts_are_not_matched():
    probe = question("Who?", split="eval")
    assert not Decontaminator([probe])
    assert decontaminate([cpt("Who? Nobody knows."), probe])[1] == {}


def multiple_choice(question_text: str, options: list[str], split: str, fact: str,
                    lang: str = "en") -> Record:
    instruction = {"en": "Answer with the letter of the correct option.",
                   "zh": "请回答正确选项的字母。"}[lang]
    lines = "\n".join(f"{'ABCDEF'[i]}. {o}" for i, o in enumerate(options))
    return question(f"{question_text}\n{lines}\n{instruction}", "A", split=split, kind="mc", lang=lang,
                    facts=(fact,), options=tuple(options))


def test_option_lines_are_not_question_content():
    probe = multiple_choice("What did Microsoft buy?",
                            ["Skype", "YouTube", "Computing-Tabulating-Recording Company"], "eval", "f1")
    assert question_segments(probe) == ["What did Microsoft buy?"]
    # shares the last distractor and the instruction with the eval question: 13+ words, but no leak
    train = multiple_choice("Which company did NVIDIA acquire?",
                            ["Mellanox", "YouTube", "Computing-Tabulating-Recording Company"], "train", "f2")
    other = multiple_choice("Where is Tencent based?", ["Shenzhen", "Paris", "Tokyo"], "eval", "f3")
    zh_probe = multiple_choice("皮查伊任职于哪家机构？", ["交易所", "苹果公司", "金山", "谷歌"],
                               "eval", "f4", "zh")
    zh_train = multiple_choice("雷军在哪家公司工作？", ["腾讯", "苹果公司", "金山", "谷歌"],
                               "train", "f5", "zh")
    kept, removed = decontaminate([train, zh_train, probe, other, zh_probe])
    assert kept == [train, zh_train, probe, other, zh_probe] and not removed
    # the question itself leaking is caught, whatever the options
    leak = multiple_choice("What did Microsoft buy?", ["Skype", "Bing"], "train", "f9")
    assert decontaminate([leak, probe, other])[1] == {"eval_prompt": 1}


def test_a_question_shared_by_probes_about_overlapping_facts_is_still_content():
    qa = question("Who founded Alibaba Group?", split="eval", facts=("f1", "f2"))
    mc = multiple_choice("Who founded Alibaba Group?", ["Jack Ma", "Pony Ma", "Robin Li", "Lei Jun"],
                         "eval", "f1")
    leak = cpt("Who founded Alibaba Group? Jack Ma and others.")
    assert decontaminate([leak, qa, mc])[1] == {"eval_prompt": 1}
