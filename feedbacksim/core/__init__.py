"""The simulation core: cases, environment, agent, policies, training data, trace, seeding, registry."""
