from kg.ids import document_id, entity_id, fact_id, normalize_key


def test_ids_are_stable_and_normalized():
    # full-width, case and spacing differences meet in one key
    assert normalize_key("ＩＢＭ  Corp") == normalize_key("ibm corp")
    assert entity_id("Organization", "IBM") == entity_id("Organization", "ｉｂｍ")
    assert entity_id("Organization", "IBM") != entity_id("Person", "IBM")
    # a fixed value guards against accidental changes of the hashing scheme across versions
    assert document_id("hello  world") == document_id("hello world")
    assert fact_id("a", "p", "b") != fact_id("b", "p", "a")
    assert fact_id("a", "p", "b") == "fact:" + __import__("hashlib").sha1(
        "a\x1fp\x1fb".encode()).hexdigest()[:16]
