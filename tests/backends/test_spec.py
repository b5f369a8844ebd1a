"""Backend specs carry the backend's own options; the older option flags fold into them."""

from __future__ import annotations

import pytest

from llmga.backends import BackendError, embedded_spec, make_backend, parse_spec, spec_kind, spec_with
from llmga.config import Config, fold_llm_aliases, read_campaign
from llmga.errors import ConfigError


def test_a_spec_is_kind_target_and_typed_options():
    assert parse_spec("openai:Qwen/Qwen2.5-7B?base_url=http://127.0.0.1:8000/v1&concurrency=4") == (
        "openai",
        "Qwen/Qwen2.5-7B",
        {"base_url": "http://127.0.0.1:8000/v1", "concurrency": 4},
    )
    assert parse_spec("vllm:m?tensor_parallel_size=2&gpu_memory_utilization=0.5&enforce_eager=true") == (
        "vllm",
        "m",
        {"tensor_parallel_size": 2, "gpu_memory_utilization": 0.5, "enforce_eager": True},
    )
    assert parse_spec("hf:some/dir") == ("hf", "some/dir", {})
    assert [spec_kind(s) for s in ("none", " ", "embedded", "lm:d", "openai:m?concurrency=2")] == [
        "none", "none", "embedded", "embedded", "text",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("openai:m?device=cuda", r"openai backends take no option 'device'; their options: base_url, api_key_env"),
        ("hf:m?device=tpu", r"device='tpu' is not one of auto, cpu, cuda"),
        ("openai:m?concurrency=many", r"concurrency='many' is not a number"),
        ("openai:m?concurrency=0", r"concurrency='0'; give a positive number"),
        ("openai:m?base_url", r"option 'base_url' needs a value"),
        ("llama:m", r"unknown backend 'llama'"),
        ("openai:", r"is not understood"),
    ],
)
def test_a_bad_option_names_itself_and_what_is_valid(spec, message):
    with pytest.raises(BackendError, match=message):
        parse_spec(spec)
    with pytest.raises(BackendError, match=message):
        make_backend(Config(llm=spec))  # before any oracle call


def test_spec_with_adds_and_replaces_options_readably():
    spec = spec_with("openai:m?concurrency=2", base_url="http://127.0.0.1:9/v1", concurrency=3)
    assert spec == "openai:m?concurrency=3&base_url=http://127.0.0.1:9/v1"
    assert parse_spec(spec_with("openai:m", api_key_env="A B&C"))[2] == {"api_key_env": "A B&C"}  # quoted


def test_the_old_option_keywords_fold_into_the_spec():
    config = Config().replace(llm="openai:m", base_url="http://127.0.0.1:9/v1", llm_concurrency=2)
    assert config.llm == "openai:m?base_url=http://127.0.0.1:9/v1&concurrency=2"
    assert not hasattr(config, "base_url")
    assert Config().replace(llm="hf:d", device="cpu").llm == "hf:d?device=cpu"
    assert Config().replace(llm="hf:d", device="auto").llm == "hf:d"  # the old default changes nothing
    # The embedded model runs on the CPU unless told: --device asks it for a GPU (auto: one if there is one).
    assert Config().replace(device="auto").llm == "embedded?device=auto"
    assert Config().replace(llm="lm:runs/m", device="cuda:1").llm == "lm:runs/m?device=cuda:1"
    with pytest.raises(ConfigError, match=r"--device 'cuda' is an option of the embedded and lm and hf backend"):
        Config().replace(llm="openai:m", device="cuda")


def test_an_embedded_spec_gives_the_model_folder_its_device_and_dtype():
    assert embedded_spec("embedded") == (None, "cpu", "auto")
    assert embedded_spec(" embedded?device=auto ") == (None, "auto", "auto")
    assert embedded_spec("lm:runs/m?device=cuda:1&dtype=float32") == ("runs/m", "cuda:1", "float32")
    with pytest.raises(BackendError, match=r"dtype='half' is not one of auto, float32, bfloat16"):
        embedded_spec("embedded?dtype=half")
    assert spec_with("embedded", device="cuda") == "embedded?device=cuda"
    assert spec_kind("embedded?device=cuda") == "embedded"
    assert make_backend(Config(llm="embedded?device=cpu")) is None  # run by its own operators, not a text backend
    with pytest.raises(BackendError, match=r"embedded backends take no option 'foo'; their options: device, dtype"):
        embedded_spec("embedded?foo=1")
    with pytest.raises(BackendError, match=r"option 'device' needs a value, as in embedded\?device=VALUE"):
        embedded_spec("embedded?device")
    with pytest.raises(BackendError, match="is not the embedded model"):
        embedded_spec("hf:m")


def test_a_saved_configuration_of_an_older_version_still_loads():
    old = Config(llm="openai:m").to_dict() | {
        "base_url": "http://127.0.0.1:9/v1", "api_key_env": "OPENAI_API_KEY", "llm_concurrency": 8, "device": "auto",
    }  # fmt: skip
    assert Config.from_dict(old).llm == "openai:m?base_url=http://127.0.0.1:9/v1"
    embedded = Config().to_dict() | {"device": "cuda", "llm_concurrency": 3}  # options it never used: dropped
    assert Config.from_dict(embedded) == Config()
    assert fold_llm_aliases({"budget": 3}) == {"budget": 3}


def test_a_campaign_file_gives_the_model_as_a_table(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('budget = 100\n[llm]\nspec = "openai:m"\nbase_url = "http://127.0.0.1:9/v1"\nconcurrency = 16\n')
    config = Config().replace(**read_campaign(path))
    assert config.llm == "openai:m?base_url=http://127.0.0.1:9/v1&concurrency=16" and config.budget == 100
    path.write_text('[llm]\nspec = "openai:m"\ndevice = "cpu"\n')
    with pytest.raises(ConfigError, match=r"c.toml: \[llm\]: .*openai backends take no option 'device'"):
        read_campaign(path)
    path.write_text('llm-concurrency = 4\nllm = "openai:m"\n')  # an old key still works
    assert Config().replace(**read_campaign(path)).llm == "openai:m?concurrency=4"
