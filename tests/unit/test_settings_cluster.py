"""Cluster settings: several seed URLs, stream replicas and the lease, refused with the setting
named when malformed."""

import pytest
from pydantic import ValidationError

from services.nats.broker import jip_stream
from services.settings import Settings, broker_servers


def test_a_comma_separated_broker_url_gives_each_seed_stripped() -> None:
    url = "nats://n1:4222, nats://n2:4222,tls://n3:4222"
    assert broker_servers(url) == ["nats://n1:4222", "nats://n2:4222", "tls://n3:4222"]
    assert Settings(broker_url=url).broker_url == url
    assert Settings(broker_url="").broker_url == "", "empty means unset: the embedded server"


@pytest.mark.parametrize(
    ("url", "seed"),
    [
        ("nats://n1:4222,,nats://n3:4222", "seed 2 of 3"),
        ("nats://n1:4222,n2:4222", "seed 2 of 2"),
        ("http://n1:4222", "seed 1 of 1"),
        ("nats://:4222", "seed 1 of 1"),
    ],
)
def test_a_malformed_seed_is_refused_naming_the_setting_and_its_position(
    url: str, seed: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(broker_url=url)
    assert "INTERN_MATCH_BROKER_URL" in str(refused.value) and seed in str(refused.value)


def test_a_seed_with_credentials_is_refused_without_showing_them() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(broker_url="nats://user:s3cret@n1:4222,https://user:s3cret@n2")
    assert "s3cret" not in str(refused.value)


def test_stream_replicas_and_lease_are_bounded_and_reach_the_stream() -> None:
    assert Settings().stream_replicas == 1 and Settings().lease_seconds == 10.0
    assert jip_stream(Settings(stream_replicas=3).stream_replicas).config.num_replicas == 3
    for bad in ({"stream_replicas": 0}, {"stream_replicas": 6}, {"lease_seconds": 0.5}):
        with pytest.raises(ValidationError):
            Settings(**bad)
    with pytest.raises(ValidationError):
        Settings(instance_id="two words")
