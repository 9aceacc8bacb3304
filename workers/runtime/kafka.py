"""Kafka client configuration from Settings; security (TLS, SASL) is added here once, for every client."""

from __future__ import annotations

import ssl


def security_config(settings) -> dict:
    protocol = settings.kafka_security_protocol.upper()
    config = {"security.protocol": protocol}
    if protocol.startswith("SASL"):
        config.update({
            "sasl.mechanism": settings.kafka_sasl_mechanism,
            "sasl.username": settings.kafka_sasl_username,
            "sasl.password": settings.kafka_sasl_password.reveal(),
        })
    if protocol.endswith("SSL"):
        for key, value in (("ssl.ca.location", settings.kafka_ssl_ca_location),
                           ("ssl.certificate.location", settings.kafka_ssl_certificate_location),
                           ("ssl.key.location", settings.kafka_ssl_key_location)):
            if value:
                config[key] = value
    return config


def client_config(settings, **overrides) -> dict:
    config = {"bootstrap.servers": settings.kafka_bootstrap, "client.id": "newswire", **security_config(settings)}
    config.update(overrides)
    return config


def producer_config(settings, **overrides) -> dict:
    # Idempotent producer: retries after a broker hiccup never write a record twice.
    return client_config(settings, **{"enable.idempotence": True, "acks": "all", "linger.ms": 20,
                                      "compression.type": "zstd", "message.max.bytes": 10485760, **overrides})


def faust_credentials(settings):
    """The same security settings for faust (aiokafka), or None for PLAINTEXT."""
    import faust

    protocol = settings.kafka_security_protocol.upper()
    context = None
    if protocol.endswith("SSL"):
        context = ssl.create_default_context(cafile=settings.kafka_ssl_ca_location or None)
        if settings.kafka_ssl_certificate_location:
            context.load_cert_chain(settings.kafka_ssl_certificate_location, settings.kafka_ssl_key_location or None)
    if protocol.startswith("SASL"):
        return faust.SASLCredentials(username=settings.kafka_sasl_username,
                                     password=settings.kafka_sasl_password.reveal(),
                                     mechanism=settings.kafka_sasl_mechanism, ssl_context=context)
    if protocol == "SSL":
        return faust.SSLCredentials(context)
    return None
