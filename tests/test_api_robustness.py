"""Bodies no client should send, sent over real HTTP on loopback to the intake endpoint and the model resources
(POST and PUT of a ticket and of a customer): malformed JSON, JSON of the wrong kind (a list, a string), text
that is not UTF-8, the wrong Content-Type, fields of the wrong type, a body larger than MAX_CONTENT_LENGTH. Each
is a 4xx JSON answer naming the field at fault, in Chinese when the caller asks in Chinese (or says nothing) and
in English when they ask in English — never a 500. Then the messages of the libraries under the API
(marshmallow's, Flask-AppBuilder's, the token checks') in both languages."""
import json

import pytest
import requests
from sqlalchemy import select

from app.models import Customer
from tests.conftest import PASSWORDS
from tests.helpers import new_ticket

JSON = "application/json"
LANGUAGES = {"zh": "zh-CN,zh;q=0.9", "en": "en-US,en;q=0.8"}

# What each bad body is told, as {"message", "field": "body"} with a 400
BODY_PROBLEMS = {
    "malformed JSON": (JSON, b'{"channel": "app", "subject": ',
                       {"zh": "请求体不是有效的 JSON（UTF-8）。", "en": "The body is not valid JSON (UTF-8)."}),
    "a list": (JSON, b'[{"channel": "app"}]',
               {"zh": "请求体必须是 JSON 对象。", "en": "The body must be a JSON object."}),
    "a string": (JSON, '"热水器漏水"'.encode(),
                 {"zh": "请求体必须是 JSON 对象。", "en": "The body must be a JSON object."}),
    "not UTF-8": (JSON, '{"channel": "app", "subject": "热水器"}'.encode("gb18030"),
                  {"zh": "请求体不是有效的 JSON（UTF-8）。", "en": "The body is not valid JSON (UTF-8)."}),
    "wrong Content-Type": ("text/plain; charset=utf-8", b'{"channel": "app", "subject": "x"}',
                           {"zh": "请以 JSON 格式发送请求体（Content-Type: application/json）。",
                            "en": "Send the body as JSON (Content-Type: application/json)."}),
}


@pytest.fixture
def http(server, session):
    """An admin's HTTP session on the loopback server, and the ids of a ticket and a customer to PUT to."""
    web = requests.Session()
    answer = web.post(f"{server}/api/v1/security/login", json={
        "username": "admin", "password": PASSWORDS["admin"], "provider": "db"}, timeout=30)
    web.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    ticket = new_ticket(session, subject="健壮性测试")
    customer = session.scalar(select(Customer).order_by(Customer.id))
    targets = {"intake": ("POST", f"{server}/api/v1/intake/"),
               "new ticket": ("POST", f"{server}/api/v1/ticket/"),
               "ticket": ("PUT", f"{server}/api/v1/ticket/{ticket.id}"),
               "new customer": ("POST", f"{server}/api/v1/customer/"),
               "customer": ("PUT", f"{server}/api/v1/customer/{customer.id}")}
    yield web, targets
    web.close()


def _send(web, target, lang, content_type=JSON, data=b"", **kwargs):
    method, url = target
    headers = {"Accept-Language": LANGUAGES[lang]} if lang else {}
    if data is not None and content_type:
        headers["Content-Type"] = content_type
    return web.request(method, url, data=data, headers=headers, timeout=120, **kwargs)


def _refusal(response, status):
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["Content-Type"].startswith(JSON)
    return response.json()


@pytest.mark.parametrize("problem", list(BODY_PROBLEMS))
def test_an_unreadable_body_is_a_400_naming_the_body_in_the_callers_language(http, problem):
    web, targets = http
    content_type, data, said = BODY_PROBLEMS[problem]
    for name, target in targets.items():
        for lang in ("zh", "en", None):
            body = _refusal(_send(web, target, lang, content_type, data), 400)
            assert body == {"message": said[lang or "zh"], "field": "body"}, (name, lang, body)


WRONG_TYPES = {
    "intake": [({"channel": "app", "customer": "张伟", "description": "漏水"}, 400,
                {"zh": {"field": "customer", "message": "customer：此处应为对象。"},
                 "en": {"field": "customer", "message": "customer: An object is expected here."}}),
               ({"channel": "app", "customer": {"phone": 13800138000}, "description": "漏水"}, 400,
                {"zh": {"field": "customer.phone", "message": "customer.phone：此处应为文本。"},
                 "en": {"field": "customer.phone", "message": "customer.phone: Text is expected here."}}),
               ({"channel": ["app"], "customer": {"phone": "13800138000"}}, 400,
                {"zh": {"field": "channel", "message": "channel：此处应为文本。"},
                 "en": {"field": "channel", "message": "channel: Text is expected here."}})],
    "new ticket": [({"channel": "app", "subject": 12, "priority": [1], "customer": {"id": 1}}, 422,
                    {"zh": {"message": {"subject": ["此处应为文本。"], "priority": ["不是有效的 ID。"],
                                        "customer": ["不是有效的 ID。"]}},
                     "en": {"message": {"subject": ["Text is expected here."], "priority": ["Not a valid id."],
                                        "customer": ["Not a valid id."]}}})],
    "ticket": [({"subject": {"text": "x"}, "contact_email": 5, "team": 2147483000, "closed": True}, 422,
                {"zh": {"message": {"subject": ["此处应为文本。"], "contact_email": ["此处应为文本。"],
                                    "team": ["没有此 ID 的记录。"], "closed": ["未知字段。"]}},
                 "en": {"message": {"subject": ["Text is expected here."], "contact_email": ["Text is expected here."],
                                    "team": ["No record has this id."], "closed": ["Unknown field."]}}})],
    "new customer": [({"name": 5, "latitude": "north", "tier": True}, 422,
                      {"zh": {"message": {"name": ["此处应为文本。"], "latitude": ["不是有效的数字。"],
                                          "tier": ["此处应为文本。"]}},
                       "en": {"message": {"name": ["Text is expected here."], "latitude": ["Not a valid number."],
                                          "tier": ["Text is expected here."]}}})],
    "customer": [({"longitude": [1], "region": 2.5, "notes": None, "phone": "1" * 31}, 422,
                  {"zh": {"message": {"longitude": ["不是有效的数字。"], "region": ["不是有效的 ID。"],
                                      "phone": ["长度不能超过 30。"]}},
                   "en": {"message": {"longitude": ["Not a valid number."], "region": ["Not a valid id."],
                                      "phone": ["Length must be at most 30."]}}})],
}


@pytest.mark.parametrize("name", list(WRONG_TYPES))
def test_a_field_of_the_wrong_type_is_named_in_the_callers_language(http, name):
    web, targets = http
    for payload, status, said in WRONG_TYPES[name]:
        for lang in ("zh", "en"):
            body = _refusal(_send(web, targets[name], lang, data=json.dumps(payload).encode()), status)
            assert body == said[lang], (name, lang, body)


def test_a_body_larger_than_the_limit_is_a_413_before_it_is_read(app, http):
    web, targets = http
    limit = app.config["MAX_CONTENT_LENGTH"]
    data = b'{"description": "' + b"x" * (limit + 1 - 19) + b'"}'
    assert len(data) > limit
    for (name, target), lang in zip(targets.items(), ("zh", "en", "zh", "en", "zh")):
        body = _refusal(_send(web, target, lang, data=data), 413)
        assert body["field"] == "body", (name, body)
        assert ("请求" in body["message"]) == (lang == "zh") and "KB" in body["message"], (name, body)


ODD_TEXT = {  # a body each target takes, with the odd text where a customer's words go
    "intake": lambda t: {"channel": "app", "subject": t, "description": t,
                         "customer": {"name": t, "phone": "13800138000"}},
    "new ticket": lambda t: {"channel": "app", "subject": t, "description": t},
    "ticket": lambda t: {"subject": t, "description": t},
    "new customer": lambda t: {"name": t, "notes": t},
    "customer": lambda t: {"notes": t, "address": t},
}


def test_a_nul_byte_or_odd_unicode_is_stored_or_refused_never_a_failure(http):
    """Valid JSON whose strings hold a NUL (PostgreSQL refuses it in text), a lone surrogate (not encodable as
    UTF-8) or a right-to-left override: a 2xx or a 4xx naming the field, never a server error."""
    web, targets = http
    for name, target in targets.items():
        for text in ("a\x00b", "a\ud800b", "\u202e漏水"):
            response = _send(web, target, "en", data=json.dumps(ODD_TEXT[name](text)).encode())
            assert response.status_code < 500, (name, repr(text), response.status_code, response.text[:300])
            assert response.headers["Content-Type"].startswith(JSON)
            if response.status_code >= 400:
                assert "field" in response.json() or isinstance(response.json()["message"], dict), response.text


# --- the libraries' own messages -------------------------------------------------------------------------------

def test_the_rest_login_says_what_is_missing_in_the_callers_language(client):
    zh = client.post("/api/v1/security/login", json={"username": 5})
    en = client.post("/api/v1/security/login", json={"username": 5}, headers={"Accept-Language": "en"})
    assert zh.status_code == en.status_code == 400
    assert zh.get_json() == {"message": {"username": ["此处应为文本。"], "password": ["此项必填。"]}}
    assert en.get_json() == {"message": {"username": ["Text is expected here."], "password": ["This field is required."]}}
    wrong = client.post("/api/v1/security/login", json={"username": "nobody", "password": "x", "provider": "db"},
                        headers={"Accept-Language": "en"})
    assert wrong.status_code == 401
    assert wrong.get_json() == {"message": "Not authorised: the login, the password or the token is not valid."}


def test_token_problems_are_401s_in_the_callers_language(client, api_token):
    assert client.get("/api/v1/ticket/").get_json() == {
        "message": "请先登录：在请求头中发送 Authorization: Bearer <访问令牌>。"}
    malformed = client.get("/api/v1/ticket/", headers={"Authorization": "Bearer not-a-token", "Accept-Language": "en"})
    assert malformed.status_code == 401  # it was a 422 {"msg": "Not enough segments"}
    assert malformed.get_json() == {"message": "The token is not valid: log in again."}
    access_for_refresh = client.post("/api/v1/security/refresh", headers=api_token("clerk"))
    assert access_for_refresh.status_code == 401
    assert access_for_refresh.get_json() == {"message": "令牌无效，请重新登录。"}


def test_fab_answers_come_in_the_callers_language(client, api_token):
    headers = api_token("clerk")
    english = {**headers, "Accept-Language": "en"}
    assert client.get("/api/v1/ticket/2147483000", headers=headers).get_json() == {"message": "未找到。"}
    assert client.get("/api/v1/ticket/2147483000", headers=english).get_json() == {"message": "Not found."}
    # an id that is not a number, on any method, is not found (it was a 405 HTML page for GET)
    for method in (client.get, client.put):
        response = method("/api/v1/customer/abc", headers=english, json={})
        assert response.status_code == 404 and response.get_json() == {"message": "Not found."}
    response = client.patch("/api/v1/ticket/1", headers=english)
    assert response.status_code == 405 and response.get_json() == {
        "message": "This address does not take the method PATCH."}
    assert client.get("/api/v1/nothing-here", headers=headers).get_json() == {"message": "未找到。"}
    assert client.get("/api/v1/part/", headers=api_token("warehouse")).status_code == 200
    forbidden = client.get("/api/v1/ticket/", headers={**api_token("warehouse"), "Accept-Language": "en"})
    assert forbidden.status_code == 403
    assert forbidden.get_json() == {"message": "You do not have permission to do this."}


@pytest.mark.parametrize("q, field, zh, en", [
    ("(page_size:abc)", "q.page_size", "q.page_size：不是有效的整数。", "q.page_size: Not a valid integer."),
    ("(page:-1)", "q.page", "q.page：请填写 0 到 1000000 之间的数值。", "q.page: Between 0 and 1000000, please."),
    ("(order_direction:up)", "q.order_direction", "q.order_direction：必须是以下之一：asc, desc。",
     "q.order_direction: Must be one of: asc, desc."),
    ("(filters:!((col:number)))", "q.filters.0.opr", "q.filters.0.opr：此项必填。",
     "q.filters.0.opr: This field is required."),
    ("(filters:!((col:zz,opr:eq,value:1)))", None, "不能按列 zz 筛选。", "Column zz cannot be filtered."),
    ("(order_column:zz)", None, "不能按 zz 排序。", "Cannot sort by zz."),
    ("(((", "q", "参数 q 不是有效的 Rison 格式。", "The q argument is not valid Rison."),
])
def test_a_query_argument_it_cannot_use_is_a_400_in_the_callers_language(client, api_token, q, field, zh, en):
    headers = api_token("clerk")
    for lang, said in (("zh", zh), ("en", en)):
        response = client.get("/api/v1/ticket/", query_string={"q": q}, headers={**headers, "Accept-Language": lang})
        assert response.status_code == 400, response.get_data(as_text=True)
        expected = {"message": said, **({"field": field} if field else {})}
        assert response.get_json() == expected
