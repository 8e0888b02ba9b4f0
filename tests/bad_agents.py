"""Agent factories that fail, for the tests that a bad ``--agent`` is refused before any unit runs."""


def raising_factory(env):
    raise RuntimeError("no weights found")


def failing_predict_factory(env):
    class Broken:
        def predict(self, observation, state=None, episode_start=None, deterministic=False):
            raise IndexError("observation has the wrong shape")

    return Broken()
