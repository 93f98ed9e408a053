from dataclasses import dataclass


@dataclass
class Greeting:
    name: str
    times: int = 1

    def render(self) -> str:
        return ", ".join([f"Hello {self.name}"] * self.times)
