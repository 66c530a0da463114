"""A small news corpus about people the gazetteer does not know, each written in two or three spellings.

Written for tests/test_suggest.py and tests/test_renormalize.py (the people are invented; nothing
here comes from ../shared/external). GOLD maps each spelling to its person; the counter-examples
(Hassan and Hussein Jaburi, Salma and Salwa Othman) are different people with close names.
"""

from __future__ import annotations

from pathlib import Path

GOLD: dict[str, str] = {
    "Hamid al-Kaabi": "kaabi", "Hameed al-Kaabi": "kaabi", "Hamed Ka'abi": "kaabi", "Kaabi": "kaabi",
    "Yousef Qaragholi": "qaragholi", "Yusuf Karaghouli": "qaragholi", "Youssef Qaraghuli": "qaragholi",
    "Karaghouli": "qaragholi",
    "Ghazwan al-Mashhadani": "mashhadani", "Ghazouan Mashadani": "mashhadani",
    "Ghazwan Al Mashhadany": "mashhadani",
    "Shirin Rezaei": "rezaei", "Shireen Rezaee": "rezaei", "Sherin Rezai": "rezaei",
    "Morteza Ghorbani": "ghorbani", "Murtaza Qorbani": "ghorbani", "Murtadha Ghurbani": "ghorbani",
    "Abdul-Jabbar Dhiyab": "dhiyab", "Abd al-Jabbar Diyab": "dhiyab", "Abduljabbar Dhiab": "dhiyab",
    "Salwa Othman": "salwa", "Salwa Uthman": "salwa",
    "Salma Othman": "salma",
    "Hassan Jaburi": "hassan-jaburi",
    "Hussein Jaburi": "hussein-jaburi",
}

ARTICLES: dict[str, str] = {
    "n01.txt": """Water protests spread in the south

Hamid al-Kaabi, the governor's new adviser on water, told reporters on Sunday that the canals near the marshes had
lost half of their flow since the spring. Kaabi said the ministry would send pumps within a week. Local farmers
were not convinced, and several of them blocked the main road for most of the afternoon.
Yousef Qaragholi, who heads a farmers' union in the province, accused the authorities of ignoring the villages for
years and promised that the protests would continue until the pumps arrived.
""",
    "n02.txt": """Union leader meets the governor

The farmers' union leader Yusuf Karaghouli met the provincial governor on Tuesday to discuss the water crisis.
According to people who attended, Hameed al-Kaabi presented a plan to dredge two canals before the summer.
Karaghouli later told a crowd outside the building that the plan was a beginning but not enough. The economist
Shirin Rezaei warned that the drought would cut the wheat harvest by a third if nothing changed soon.
""",
    "n03.txt": """Economists warn of a poor harvest

A report by the economist Shireen Rezaee says the wheat harvest could fall to its lowest level in a decade. The
report was presented in a hall full of officials, bankers and traders. Morteza Ghorbani, a trader who imports
grain through the southern port, said prices had already risen by twenty per cent in two months and that the
smaller mills would close first. Officials promised subsidies but gave no figures.
""",
    "n04.txt": """Grain imports rise

Grain imports through the southern port rose sharply in the first quarter, the trader Murtaza Qorbani told a
conference of importers. He said shipping costs were the main problem. The deputy minister Ghazwan al-Mashhadani
replied that the government would lower port fees for wheat and flour. Hassan Jaburi, a member of the port
authority, said the fees had not changed for years and would not change now without a vote.
""",
    "n05.txt": """Port fees dispute goes to parliament

The dispute over port fees reached parliament on Wednesday. The deputy minister Ghazouan Mashadani defended the
cut and said it would pay for itself within a year. Hussein Jaburi, a member of the finance committee, said the
plan had no budget line and asked for a full study. The session ended without a vote. Salwa Othman, who chairs
the committee, said the matter would come back next week with new numbers from the ministry.
""",
    "n06.txt": """Committee chair promises a vote

Salwa Uthman, the chair of the finance committee, said on Thursday that the vote on port fees would take place
next week. The engineer Abdul-Jabbar Dhiyab, who runs the port's grain terminal, told the committee that the
terminal was already working at full capacity. His deputy, the lawyer Salma Othman, said the contracts with the
shipping lines would have to be rewritten whatever parliament decided. Ghazwan Al Mashhadany did not attend.
""",
    "n07.txt": """Terminal chief warns of delays

Ships waited for up to nine days at the grain terminal this month, its director Abd al-Jabbar Diyab said. He
blamed the old cranes and a shortage of trained workers. The trader Murtadha Ghurbani said the delays cost
importers more than the fees themselves. The economist Sherin Rezai said that any saving on fees would be lost in
waiting time unless the terminal was modernised, and she called for a plan within the year.
""",
    "n08.txt": """Governor's adviser resigns

Hamed Ka'abi, the adviser on water who promised pumps for the southern canals, resigned on Friday. In a short
statement he said that the pumps had been bought but never delivered. The union leader Youssef Qaraghuli said the
resignation changed nothing for the farmers. The port director Abduljabbar Dhiab said he would give the empty
warehouses of the terminal to the farmers to store what was left of the harvest.
""",
}


def write_corpus(dest: Path) -> Path:
    """Write the articles as .txt files into dest (created); returns dest."""
    dest.mkdir(parents=True, exist_ok=True)
    for name, text in ARTICLES.items():
        (dest / name).write_text(text, encoding="utf-8")
    return dest
