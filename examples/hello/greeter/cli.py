from greeter.core import Greeting


def main(argv: list[str]) -> int:
    greeting = Greeting(argv[0] if argv else "world", times=len(argv))
    print(greeting.render())
    # A deliberate mistake, so that the demo shows what mypy reports:
    count: int = greeting.render()
    return count
