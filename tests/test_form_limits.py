"""A form refused for its size says which limit it passed: too many fields and files, a text too
long, or a body larger than allowed."""

import io


def refused(client, data: dict) -> tuple[int, str]:
    client.forget_language()
    response = client.post("/language", data=data, content_type="multipart/form-data")
    return response.status_code, response.get_data(as_text=True)


def test_a_form_with_too_many_parts_is_told_so(app, client):
    status, page = refused(client, {f"field{i}": "x" for i in range(app.config["MAX_FORM_PARTS"])})
    assert status == 413
    assert "表单包含的字段和文件过多" in page
    assert "文件超过允许的大小" not in page


def test_a_text_too_long_is_told_so(app, client):
    status, page = refused(client, {"text": "x" * (app.config["MAX_FORM_MEMORY_SIZE"] + 1)})
    assert status == 413
    assert "表单中的文字过长" in page


def test_a_body_over_the_size_cap_is_still_a_file_too_large(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    status, page = refused(client, {"file": (io.BytesIO(b"x" * 20_000), "big.pdf")})
    assert status == 413
    assert "文件超过允许的大小" in page
