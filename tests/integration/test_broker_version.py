"""A nats-server older than 2.10 ignores a consumer's `filter_subjects`: the intake would be
handed the service's own outbound events and dead letters and dead-letter them again without
end (seen on Debian's 2.9). The service refuses such a server before anything is fetched."""

import nats
import pytest
from nats.js.errors import NotFoundError

from contracts import STREAM
from services.cli.errors import describe
from services.intake.consumer import FILTERS_SINCE
from services.nats.broker import INTAKE_DURABLE
from services.nats.errors import UnsupportedBrokerError
from services.runtime import running_service
from tests.conftest import UNSUPPORTED_ENV
from tests.integration.intake_support import settings_for


async def test_a_server_older_than_2_10_is_refused_with_a_clear_error_and_nothing_fetched(
    unsupported_nats_url, fresh_database_url, tmp_path
):
    client = await nats.connect(unsupported_nats_url)
    version = client.connected_server_version
    assert (version.major, version.minor) < FILTERS_SINCE, f"{UNSUPPORTED_ENV}: {version}"
    settings = settings_for(unsupported_nats_url, fresh_database_url, tmp_path)

    with pytest.raises(UnsupportedBrokerError) as refused:
        async with running_service(settings):
            pytest.fail("the service started on a server that ignores its consumer's filter")

    try:
        with pytest.raises(NotFoundError):
            await client.jetstream().consumer_info(STREAM, INTAKE_DURABLE)
    finally:
        await client.close()
    message = describe(refused.value)
    assert message is not None
    assert f"nats-server {version.major}.{version.minor}.{version.patch}" in message
    assert "2.10 or later" in message
    assert f":{settings.broker_url.rsplit(':', 1)[1]}" in message
