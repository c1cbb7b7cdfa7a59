"""Events: topics, subscriptions (webhook, MQTT, in-process) and durable delivery."""
