"""The openai backend in process against the fake server: what the manifest records of it (`describe`), the probe
before a run, the dry run's preview, and the one-line errors it stops with."""

from __future__ import annotations

import asyncio

import openai
import pytest
from fake_openai_server import PERSONAS, Faults, ServerState, serve
from test_openai_providers import SAMPLING, generate, generate_one_without_probe, prompts, requests_for

from evalkit.backends.base import BackendError, Prompt, SampleRequest
from evalkit.backends.openai_api import OpenAIBackend
from evalkit.config import BackendConfig


def backend_for(urls, environ=None, **config) -> OpenAIBackend:
    urls = (urls,) if isinstance(urls, str) else tuple(urls)
    return OpenAIBackend("fake-model", BackendConfig(kind="openai", base_urls=urls, **config), environ=environ or {})


def probed(backend: OpenAIBackend) -> None:
    async def main():
        try:
            await backend.probe()
        finally:
            await backend.aclose()

    asyncio.run(main())


def test_describe_records_the_settings_and_what_each_server_was_sent():
    state = ServerState(faults=Faults(status_503={1}, max_choices=2))
    with serve(state) as url:
        completions, backend, _ = generate(url, requests_for(prompts(1, prefix="<think>\n"), n=3), concurrency=5,
                                           idle_timeout=40, request_timeout=90, max_retries=3,
                                           api_params={"top_k": 20})  # fmt: skip
    described = backend.describe()
    assert len(completions) == 3
    assert {k: described[k] for k in ("kind", "endpoints", "api", "served_model", "stream", "concurrency")} == {
        "kind": "openai", "endpoints": [url], "api": "chat", "served_model": "fake-model", "stream": True,
        "concurrency": 5,
    }  # fmt: skip
    assert (described["idle_timeout_s"], described["request_timeout_s"], described["max_retries"]) == (40, 90, 3)
    assert described["api_key_env"] == "OPENAI_API_KEY" and described["api_params"] == {"top_k": 20}
    assert described["vllm_extensions"] is True and described["openai_package"] == openai.__version__
    assert described["http_transport"] == "aiohttp"
    # the 503, the request that brought 2 of 3, the one for the third: every request after the first is extra
    assert described["requests"] == {"attempts": 3, "retries": 1, "extra_requests": 2, "stalled_streams": 0,
                                     "broken_streams": 0}  # fmt: skip
    dialect = described["dialects"][url]
    assert dialect["samples_per_request"] == "one" and dialect["model_reported"] == "fake-model"
    assert described["assistant_prefill"] == {"wanted": "<think>\n", "sent": True, "note": None}


def test_describe_without_streaming_keeps_the_idle_timeout_and_says_when_no_prefill_was_sent():
    state = ServerState()
    with serve(state) as url:
        _, backend, _ = generate(url, requests_for(prompts(1, prefix="<think>\n"), n=1), stream=False,
                                 vllm_extensions=False)  # fmt: skip
    described = backend.describe()
    # A whole body is watched from its headers on, so the idle timeout counts without streaming too.
    assert described["stream"] is False and described["idle_timeout_s"] == 300.0
    assert described["dialects"][url]["model_reported"] == "fake-model"  # read from a whole response too
    prefill = described["assistant_prefill"]
    assert prefill["wanted"] == "<think>\n" and prefill["sent"] is False
    assert prefill["note"].startswith("the template's assistant prefill was not sent (the server takes no prefill)")
    _, plain, _ = (None, backend_for("http://127.0.0.1:1/v1"), None)
    assert "assistant_prefill" not in plain.describe()  # nothing wanted: nothing to say
    plain.close()


def test_the_probe_learns_the_smallest_context_of_the_servers():
    a, b = ServerState(max_model_len=8192), ServerState(max_model_len=4096)
    with serve(a) as url_a, serve(b) as url_b:
        backend = backend_for((url_a, url_b))
        probed(backend)
    assert backend.context_length() == 4096


def test_the_probe_goes_on_past_a_server_without_a_models_list():
    a, b = ServerState(), ServerState(max_model_len=2048)
    with serve(a) as url_a, serve(b) as url_b:
        backend = backend_for((url_a, url_b))

        async def missing(*args, **kwargs):
            raise openai.NotFoundError("no /models", response=_response(404, url_a), body=None)

        backend.servers[0].client.models.list = missing
        probed(backend)
    assert backend.context_length() == 2048  # learned from the second server


def test_the_probe_refuses_a_server_that_serves_another_model():
    state = ServerState(model="someone/else")
    with serve(state) as url:
        backend = backend_for(url)
        with pytest.raises(BackendError) as error:
            probed(backend)
    assert str(error.value) == (
        f"{url} serves someone/else, not 'fake-model'; pass --served-model-name with one of those"
    )


def test_the_probe_says_which_variable_holds_a_refused_key():
    state = ServerState()
    with serve(state) as url:
        backend = backend_for(url, environ={"MY_KEY": "sk-x"}, api_key_env="MY_KEY")

        async def refuse(*args, **kwargs):
            raise openai.AuthenticationError(
                "no", response=_response(401, url), body={"error": {"message": "Incorrect API key provided"}}
            )

        for server in backend.servers:
            server.client.models.list = refuse
        with pytest.raises(BackendError) as error:
            probed(backend)
    assert str(error.value) == (
        f"{url} answered 401 (Incorrect API key provided): the API key is set but was refused; evalkit reads it "
        "from $MY_KEY (choose the variable with --api-key-env)"
    )


def _response(status: int, url: str):
    import httpx

    return httpx.Response(status, request=httpx.Request("GET", url))


def test_a_server_without_a_models_list_is_not_refused_for_it():
    state = ServerState()
    with serve(state) as url:
        backend = backend_for(url)

        async def missing(*args, **kwargs):
            raise openai.NotFoundError("no /models", response=_response(404, url), body=None)

        backend.servers[0].client.models.list = missing
        probed(backend)
    assert backend.context_length() is None


def test_the_probe_stops_at_another_status_with_what_the_server_said():
    with serve(ServerState()) as url:
        backend = backend_for(url)

        async def teapot(*args, **kwargs):
            raise openai.APIStatusError("teapot", response=_response(418, url), body={"message": "I'm a teapot"})

        backend.servers[0].client.models.list = teapot
        with pytest.raises(BackendError, match=rf"^{url} answered 418: I'm a teapot$"):
            probed(backend)


def test_no_reachable_server_is_one_line_naming_each():
    backend = backend_for(("http://127.0.0.1:9/v1", "http://127.0.0.1:7/v1"), request_timeout=5)
    with pytest.raises(BackendError) as error:
        probed(backend)
    text = str(error.value)
    assert text.startswith("cannot reach http://127.0.0.1:9/v1 (") and "; http://127.0.0.1:7/v1 (" in text
    # each with why, in words and with its address (not the SDK's "Request timed out." for a refused connection)
    assert "/v1 (connection refused: nothing listens at 127.0.0.1:9)" in text
    assert "/v1 (connection refused: nothing listens at 127.0.0.1:7)" in text
    assert text.endswith("is the server up and is --base-url right (it usually ends in /v1)?")


def test_the_preview_is_the_first_request_as_it_would_be_sent():
    backend = backend_for("http://127.0.0.1:1/v1", api_params={"reasoning_effort": "high"})
    request = SampleRequest(Prompt("p", ({"role": "user", "content": "Q"},), ""), 0, 4, 77)
    body = backend.preview(request, SAMPLING)
    assert body["n"] == 4 and body["seed"] == 77 and body["reasoning_effort"] == "high" and body["stream"] is True
    assert body["model"] == backend.model and body["messages"] == [{"role": "user", "content": "Q"}]
    hosted = backend_for("http://127.0.0.1:1/v1", vllm_extensions=False)
    assert "n" not in hosted.preview(request, SAMPLING)  # one sample per request
    backend.close()
    hosted.close()


def test_a_response_that_is_not_an_openai_completion_is_retried_then_ends_the_run_saying_why():
    # A 200 whose body is cut off or garbled is a transient fault (a proxy, a dying server): asked again, and when
    # it keeps coming the run ends naming what was wrong with the body.
    state = ServerState(persona=PERSONAS["vllm"])
    with serve(state) as url:
        backend = backend_for(url, stream=False, max_retries=2)
        broken = backend._read_body
        backend._read_body = lambda data, chat, server, deliver: broken(b'{"choices": 5}', chat, server, deliver)
        expected = rf"giving up after 3 attempts .*{url}'s response is not an OpenAI completion \(the response has no"
        with pytest.raises(BackendError, match=expected):
            generate_one_without_probe(backend)


def test_the_transport_can_be_forced():
    assert backend_for("http://127.0.0.1:1/v1").transport == "aiohttp"
    forced = OpenAIBackend("m", BackendConfig(kind="openai", base_urls=("http://127.0.0.1:1/v1",)), environ={},
                           transport="httpx")  # fmt: skip
    assert forced.transport == "httpx"
    forced.close()


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        # OpenAI's shape: what a 400 is about is in `param`, even when the message does not name it.
        (
            {"error": {"message": "Unsupported value", "param": "temperature", "code": "unsupported_value"}},
            ("Unsupported value", "temperature", "unsupported_value"),
        ),
        ({"message": "Unsupported value", "param": "top_p"}, ("Unsupported value", "top_p", None)),  # unwrapped
        ({"error": {"param": "n"}}, ('{"param": "n"}', "n", None)),  # no message: the body itself
        ({"error": {"message": "m" * 600}}, ("m" * 500, None, None)),
        ({"error": {"message": "m", "param": 3, "code": 400}}, ("m", None, None)),  # not names
        ("Bad request: temperature", ("Bad request", None, None)),  # a body that is not JSON
        (None, ("Bad request", None, None)),
    ],
)
def test_what_a_400_is_about_is_read_from_its_body(body, fields):
    from evalkit.backends.openai_api import _error_fields

    error = openai.BadRequestError("Bad request", response=_response(400, "http://127.0.0.1:1/v1"), body=body)
    assert _error_fields(error) == fields


def test_close_closes_the_clients_once_and_never_raises_inside_a_running_loop():
    backend = backend_for(("http://127.0.0.1:1/v1", "http://127.0.0.1:2/v1"))
    assert not any(server.client.is_closed() for server in backend.servers)
    backend.close()
    assert all(server.client.is_closed() for server in backend.servers)
    backend.close()  # again: nothing to do

    inside = backend_for("http://127.0.0.1:1/v1")

    async def main():
        inside.close()  # asyncio.run cannot run here; the clients are closed by aclose instead
        await inside.aclose()

    asyncio.run(main())
    assert inside.servers[0].client.is_closed()


@pytest.mark.parametrize(
    ("error", "cause", "not_reached"),
    [
        (openai.APIConnectionError, None, True),  # httpx: refused, no route, DNS
        (openai.APITimeoutError, "ConnectTimeout", True),  # aiohttp reports a refused connection so
        (openai.APITimeoutError, "ConnectError", True),
        (openai.APITimeoutError, "ReadTimeout", False),  # reached, and the request ran too long
        (openai.APITimeoutError, None, False),
    ],
)
def test_a_server_not_reached_is_told_from_a_request_that_ran_too_long(error, cause, not_reached):
    import httpx

    from evalkit.backends.openai_api import _not_reached

    request = httpx.Request("POST", "http://127.0.0.1:1/v1/chat/completions")
    fault = error(request=request) if error is openai.APITimeoutError else error(request=request, message="x")
    if cause is not None:
        fault.__cause__ = type(cause, (Exception,), {})()
    assert _not_reached(fault) is not_reached


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"error": {"message": "Incorrect API key provided"}}, "Incorrect API key provided"),
        ({"message": "model not found"}, "model not found"),  # unwrapped
        ({"error": "overloaded", "message": "try again"}, "try again"),  # the error is only a word
        ({"error": {"message": "m" * 600}}, "m" * 300),
        ({"error": {"code": 1}}, "Bad request"),  # nothing readable: the SDK's own text
        ({"message": "m" * 600}, "m" * 300),
        (None, "Bad request"),
    ],
)
def test_what_a_server_said_is_read_from_its_error_body(body, message):
    from evalkit.backends.openai_api import _describe_fault, _message

    error = openai.BadRequestError("Bad request", response=_response(400, "http://127.0.0.1:1/v1"), body=body)
    assert _message(error) == message

    class Server:
        name = "http://127.0.0.1:1/v1"

    assert _describe_fault(Server(), error) == f"http://127.0.0.1:1/v1 answered 400: {message}"


def test_when_one_task_fails_the_others_are_cancelled_and_awaited_and_its_error_is_raised():
    from evalkit.backends.openai_api import _all_or_cancel

    cleaned_up = []

    async def fails():
        await asyncio.sleep(0.01)
        raise ValueError("the first failure")

    async def slow():
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            await asyncio.sleep(0.05)  # closing a stream takes a moment: it is awaited, not abandoned
            cleaned_up.append("slow")
            raise

    async def main():
        with pytest.raises(ValueError, match="the first failure"):
            await _all_or_cancel([fails(), slow(), slow()])
        assert cleaned_up == ["slow", "slow"]  # cancelled and finished before the error is raised

    asyncio.run(asyncio.wait_for(main(), 10))


def test_an_error_with_no_text_is_named_by_its_type():
    from evalkit.backends.openai_api import _message

    assert _message(ConnectionResetError()) == "ConnectionResetError"


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
def test_each_request_tells_the_server_the_request_timeout(transport):
    # The SDK sends the read timeout it applies as X-Stainless-Read-Timeout: --request-timeout, not its own default.
    state = ServerState()
    with serve(state) as url:
        generate(url, requests_for(prompts(1), n=1), transport=transport, request_timeout=90.0)
    assert [h.get("x-stainless-read-timeout") for h in state.headers] == ["90.0"]


def test_a_run_that_stops_leaves_no_request_running():
    # The first request gets a status that ends the run while the others are still at the server: when the error
    # reaches the caller, they have been cancelled and have finished.
    state = ServerState(latency_s=0.5, faults=Faults(other_status={1: 404}))

    async def main(url: str) -> None:
        backend = backend_for(url, stream=False, concurrency=3)
        try:
            with pytest.raises(BackendError, match="answered 404"):
                async for _ in backend.generate(requests_for(prompts(3), n=1), SAMPLING):
                    pass
            assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
            assert [s.in_flight for s in backend.servers] == [0]
        finally:
            await backend.aclose()

    with serve(state) as url:
        asyncio.run(main(url))


def test_without_the_aiohttp_extra_the_default_transport_is_httpx_and_asking_for_aiohttp_says_what_to_install(
    monkeypatch,
):
    from evalkit.backends import openai_api

    def missing(**_):
        raise ImportError("No module named 'aiohttp'")

    monkeypatch.setattr(openai_api.openai, "DefaultAioHttpClient", missing)
    assert openai_api._http_client(5.0, None) == (None, "httpx")
    assert openai_api._http_client(5.0, "httpx") == (None, "httpx")
    with pytest.raises(BackendError, match=r"pip install 'openai\[aiohttp\]'"):
        openai_api._http_client(5.0, "aiohttp")


def test_close_after_aclose_closes_nothing_twice():
    backend = backend_for("http://127.0.0.1:1/v1")
    closes = []
    (server,) = backend.servers
    close = server.client.close

    async def counted() -> None:
        closes.append(1)
        await close()

    server.client.close = counted
    asyncio.run(backend.aclose())
    backend.close()  # generation ran and closed the clients: nothing left to do
    assert closes == [1]
