"""Synthetic records at any scale, in the real input formats, deterministic for a seed.

``generate(target, projects=N, seed=S)`` writes ``reference/*.csv`` (organisations, people,
teams, programmes, modules, mappings, partnerships) and ``projects/*.yaml``, one improvement
project per file, the way people write them (see ``examples/records/``). The distributions
follow the 26 sample projects: team sizes 3 to 12 (most 4 to 7), professions weighted as in
the samples (nurses most often), one to six PDSA cycles (most two to four), one to three
measures, learning activities, reflections, co-design in about a third of projects; about
one module per ten projects, each mapped to two to six model elements.

Everything generated loads with no SHACL error: every person, organisation and module a
record names is listed in the reference tables, completed cycles record all four stages,
dates run forward (a declaration that disagrees with the CAIPE definition is a warning).
The same ``(projects, seed)`` always gives byte-identical files. The fields added for the
questions of issue 19 (dated memberships and improver identification, who took part in each
PDSA stage, patient and carer involvement, the team of an activity, declared interprofessional
learning as CAIPE defines it, reflection through practice, Lean, Six Sigma and clinical audit,
co-delivered and commissioned education) are drawn from a second random stream, so the rest
of a file is what the same seed gave before they existed; some activities leave
``interprofessional`` out (older records), and about one declaration in twenty disagrees
with the CAIPE definition, as recorders' do.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as tmp:
...     summary = generate(Path(tmp), projects=3, seed=1)
...     (summary.projects, len(list((Path(tmp) / "projects").glob("*.yaml"))))
(3, 3)
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from dataclasses import dataclass
from pathlib import Path

#: Professions and their weights, from how often each appears in the sample project teams.
PROFESSIONS: dict[str, int] = {
    "Nurse": 22,
    "HealthcareAssistant": 12,
    "Pharmacist": 11,
    "SpecialistDoctor": 10,
    "GeneralPractitioner": 8,
    "Physiotherapist": 7,
    "OccupationalTherapist": 6,
    "SpecialistNurse": 6,
    "SocialCareWorker": 5,
    "Dietitian": 5,
    "Paramedic": 5,
    "SocialWorker": 4,
    "NursingAssociate": 4,
    "HealthServicesManager": 4,
    "Radiographer": 4,
    "Podiatrist": 4,
    "Midwife": 3,
    "PharmacyTechnician": 3,
    "SpeechAndLanguageTherapist": 2,
    "BiomedicalScientist": 2,
    "ClinicalPsychologist": 1,
    "MaternitySupportWorker": 1,
}
#: The profession family of each profession above (cipd:inProfessionFamily; a test checks
#: them against the ontology), for declaring interprofessional learning as CAIPE defines it.
FAMILY: dict[str, str] = {
    "Nurse": "NursingFamily",
    "HealthcareAssistant": "SupportWorkforceFamily",
    "Pharmacist": "PharmacyFamily",
    "SpecialistDoctor": "MedicineFamily",
    "GeneralPractitioner": "MedicineFamily",
    "Physiotherapist": "PhysiotherapyFamily",
    "OccupationalTherapist": "OccupationalTherapyFamily",
    "SpecialistNurse": "NursingFamily",
    "SocialCareWorker": "SupportWorkforceFamily",
    "Dietitian": "DieteticsFamily",
    "Paramedic": "ParamedicineFamily",
    "SocialWorker": "SocialWorkFamily",
    "NursingAssociate": "NursingFamily",
    "HealthServicesManager": "HealthServicesManagementFamily",
    "Radiographer": "RadiographyFamily",
    "Podiatrist": "PodiatryFamily",
    "Midwife": "MidwiferyFamily",
    "PharmacyTechnician": "PharmacyFamily",
    "SpeechAndLanguageTherapist": "SpeechAndLanguageTherapyFamily",
    "BiomedicalScientist": "HealthcareScienceFamily",
    "ClinicalPsychologist": "PsychologyFamily",
    "MaternitySupportWorker": "SupportWorkforceFamily",
}
#: The one family that does not count towards the CAIPE test (cipd:countsForCaipe false).
NOT_COUNTED = frozenset({"SupportWorkforceFamily"})
ACTIVITY_KINDS = {
    "teaching-session": 17,
    "workshop": 9,
    "case-review": 7,
    "e-learning": 4,
    "simulation": 4,
    "coaching": 3,
    "huddle": 3,
    "action-learning-set": 3,
}
CLAIMS = {
    "SI": 25,
    "IPW": 23,
    "IPL": 16,
    "WBL": 15,
    "doing": 9,
    "belonging": 5,
    "personal": 5,
    "cipd:ExperienceBasedCoDesign": 5,
    "experience": 4,
    "becoming": 3,
    "cipd:ActionLearning": 3,
    "cipd:PlanDoStudyAct": 2,
    "cipd:CommunitiesOfPractice": 2,
}
ADDRESSES = [f"OPP-{n}" for n in ("i", "ii", "iii", "iv", "v")] + [
    f"LESSON-{n}" for n in range(1, 7)
]
MAPPED_ELEMENTS = [
    "SI",
    "WBL",
    "IPL",
    "IPW",
    "doing",
    "belonging",
    "becoming",
    "experience",
    "EQI-i",
    "EQI-ii",
    "AREA-i",
    "AREA-iii",
    "cipd:ModelForImprovement",
    "cipd:ImplementingImprovementThroughPDSA",
    "cipd:ActionLearning",
    "cipd:CriticalReflection",
    "cipd:ExperientialLearning",
    "cipd:CommunitiesOfPractice",
    "cipd:InterprofessionalEducation",
]
TOPICS = [
    ("falls", "inpatient falls", "falls per 1,000 occupied bed days", "safe"),
    ("sepsis", "sepsis screening within an hour", "% of patients screened", "safe"),
    ("discharge", "discharges before noon", "% of discharges", "effective"),
    ("pressure", "hospital-acquired pressure ulcers", "ulcers per month", "safe"),
    ("medrec", "medicines reconciliation at admission", "% reconciled in 24 hours", "safe"),
    ("diabetes", "annual diabetes reviews", "% of reviews completed", "effective"),
    ("asthma", "personalised asthma plans", "% of children with a plan", "personal"),
    ("frailty", "frailty assessment in the emergency department", "% assessed", "effective"),
    ("loneliness", "social prescribing for loneliness", "referrals per month", "personal"),
    ("swallow", "swallow screening after stroke", "% screened in 4 hours", "safe"),
]
STAGE_NOTES = {
    "plan": "Agree who tests the change, where, and what will be recorded.",
    "do": "Ran the test as planned and kept a tally of what happened.",
    "study": "Compared the results with the prediction and talked them through.",
    "act": "Adapt the change and test it again on a wider scale.",
}


@dataclass(frozen=True)
class GenerateSummary:
    """What :func:`generate` wrote."""

    target: Path
    projects: int
    people: int
    organisations: int
    modules: int
    mappings: int
    seed: int


def _weighted(rng: random.Random, table: dict[str, int], k: int = 1) -> list[str]:
    return rng.choices(list(table), weights=list(table.values()), k=k)


def _team_size(rng: random.Random) -> int:
    # Most teams have 4 to 7 members; a few are large (up to 12).
    return min(12, max(3, round(rng.lognormvariate(1.65, 0.3))))


def _cycles(rng: random.Random) -> int:
    return rng.choices([1, 2, 3, 4, 5, 6], weights=[1, 4, 11, 9, 2, 1])[0]


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def _q(text: str) -> str:
    """A YAML double-quoted scalar."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def generate(target: Path, *, projects: int, seed: int = 0) -> GenerateSummary:  # noqa: PLR0915 - one linear recipe
    """Write ``projects`` synthetic project files and their reference tables under ``target``."""
    if projects < 1:
        raise ValueError("generate at least one project")
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    # The fields added later come from their own stream (str seeds are hashed with SHA-512,
    # the same in every process), leaving what ``rng`` draws unchanged.
    extra = random.Random(f"cipd-generate-extra:{seed}")  # noqa: S311
    reference = target / "reference"
    project_dir = target / "projects"
    reference.mkdir(parents=True, exist_ok=True)
    project_dir.mkdir(parents=True, exist_ok=True)

    providers = [f"provider-{i:04d}" for i in range(max(3, projects // 25))]
    commissioners = [f"commissioner-{i:03d}" for i in range(max(1, projects // 200))]
    institutions = [f"university-{i:03d}" for i in range(max(2, projects // 250))]
    organisations = (
        [
            [p, f"Synthetic Health NHS Trust {i}", "service-provider"]
            for i, p in enumerate(providers)
        ]
        + [
            [c, f"Synthetic Integrated Care Board {i}", "commissioner"]
            for i, c in enumerate(commissioners)
        ]
        + [
            [u, f"Synthetic University {i}", "educational-institution"]
            for i, u in enumerate(institutions)
        ]
    )
    host = [rng.choice(providers) for _ in range(projects)]

    # Staff: each provider's pool is about twice the number of its projects (people work
    # on several projects), at least 12; each person has one profession.
    per_provider = dict.fromkeys(providers, 0)
    for h in host:
        per_provider[h] += 1
    staff: dict[str, list[tuple[str, str]]] = {}
    people_rows: list[list[str]] = []
    for p in providers:
        pool = []
        for k in range(max(12, 2 * per_provider[p])):
            person = f"{p}-s{k:05d}"
            profession = _weighted(rng, PROFESSIONS)[0]
            pool.append((person, profession))
            name = f"Person {p[-4:]}-{k}" if rng.random() < 0.2 else ""
            improver = rng.random() < 0.15
            people_rows.append(
                [person, profession, name, "true" if improver else "false", _since(extra, improver)]
            )
        staff[p] = pool
    educators = []
    for u in institutions:
        for k in range(6):
            person = f"{u}-e{k:03d}"
            educators.append((u, person))
            people_rows.append(
                [person, "Nurse" if k % 2 else "Pharmacist", "", "true", _since(extra, True)]
            )

    project_ids = [f"synthetic-{i:06d}" for i in range(projects)]

    # Programmes and modules: about one module per ten projects, five modules a programme.
    n_modules = max(2, projects // 10)
    modules: list[list[str]] = []
    programmes: list[list[str]] = []
    mappings: list[list[str]] = []
    for m in range(n_modules):
        institution = institutions[m % len(institutions)]
        if m % 5 == 0:
            # About half the programmes are commissioned (workforce education funding).
            commissioned = extra.choice(commissioners) if extra.random() < 0.5 else ""
            programmes.append(
                [
                    f"programme-{m // 5:05d}",
                    f"MSc Improvement Science {m // 5}",
                    institution,
                    commissioned,
                ]
            )
        linked = rng.sample(project_ids, k=min(len(project_ids), rng.randint(0, 3)))
        # Some modules are co-delivered with a trust; some are commissioned on their own.
        co_delivered = extra.choice(providers) if extra.random() < 0.15 else ""
        commissioner = extra.choice(commissioners) if extra.random() < 0.3 else ""
        modules.append(
            [
                f"module-{m:05d}",
                f"QI{m:05d}",
                f"Improvement in Practice {m}",
                institution,
                programmes[-1][0] if programmes[-1][2] == institution else "",
                str(rng.choice([15, 20, 30])),
                "; ".join(linked),
                co_delivered,
                commissioner,
            ]
        )
        mapper = next(e for u, e in educators if u == institution)
        for element in rng.sample(MAPPED_ELEMENTS, k=rng.randint(2, 6)):
            mappings.append(
                [
                    f"module-{m:05d}",
                    element,
                    rng.choice(["strong", "strong", "moderate", "weak"]),
                    f"Students apply {element} in assessed improvement work in their own service.",
                    mapper,
                ]
            )

    # Communities of practice across providers: about one per 30 projects.
    teams = []
    for t in range(max(1, projects // 30)):
        p = rng.choice(providers)
        members = rng.sample(staff[p], k=min(len(staff[p]), rng.randint(4, 10)))
        teams.append(
            [
                f"cop-{t:05d}",
                f"Improvement community of practice {t}",
                "community-of-practice",
                "",
                "; ".join(m for m, _ in members),
            ]
        )

    partnerships = []
    for k in range(max(1, projects // 50)):
        joined = rng.sample(organisations, k=min(len(organisations), rng.randint(2, 5)))
        supports = rng.sample(project_ids, k=min(len(project_ids), rng.randint(1, 5)))
        partnerships.append(
            [
                f"partnership-{k:05d}",
                f"Improvement partnership {k}",
                "; ".join(o[0] for o in joined),
                "; ".join(supports),
                "; ".join(rng.sample([m[0] for m in modules], k=min(2, len(modules)))),
            ]
        )

    _write_csv(reference / "organisations.csv", ["id", "name", "kind"], organisations)
    _write_csv(
        reference / "people.csv",
        ["id", "profession", "name", "identifies_as_improver", "identifies_as_improver_since"],
        people_rows,
    )
    _write_csv(reference / "teams.csv", ["id", "name", "kind", "organisation", "members"], teams)
    _write_csv(
        reference / "programmes.csv",
        ["id", "title", "institution", "commissioned_by"],
        programmes,
    )
    _write_csv(
        reference / "modules.csv",
        [
            "id",
            "code",
            "title",
            "institution",
            "programmes",
            "credits",
            "linked_projects",
            "co_delivered_by",
            "commissioned_by",
        ],
        modules,
    )
    _write_csv(
        reference / "mappings.csv",
        ["module", "element", "strength", "justification", "mapped_by"],
        mappings,
    )
    _write_csv(
        reference / "partnerships.csv",
        ["id", "name", "members", "supports_projects", "supports_modules"],
        partnerships,
    )

    others = [o[0] for o in organisations]
    for i, pid in enumerate(project_ids):
        text = _project(
            rng,
            extra,
            pid=pid,
            organisation=host[i],
            pool=staff[host[i]],
            modules=modules,
            organisations=others,
        )
        (project_dir / f"{pid}.yaml").write_text(text, encoding="utf-8")
    return GenerateSummary(
        target=target,
        projects=projects,
        people=len(people_rows),
        organisations=len(organisations),
        modules=len(modules),
        mappings=len(mappings),
        seed=seed,
    )


def _since(extra: random.Random, improver: bool) -> str:
    """For about two in five people who identify as improvers, since when (else blank)."""
    if not improver or extra.random() >= 0.4:
        return ""
    return (dt.date(2019, 1, 7) + dt.timedelta(days=extra.randrange(0, 1800))).isoformat()


def _declared(extra: random.Random, professions: set[str], modes: list[str]) -> str | None:
    """``interprofessional`` as a recorder would write it: what the CAIPE definition says
    (two or more counted families, learning with and from or about each other), left out
    in about one activity in seven and the other way round in about one in twenty."""
    if extra.random() < 0.15:
        return None
    families = {FAMILY[p] for p in professions} - NOT_COUNTED
    meets = len(families) >= 2 and "with" in modes and ("from" in modes or "about" in modes)
    if extra.random() < 0.05:
        meets = not meets
    return "true" if meets else "false"


def _project(  # noqa: PLR0912, PLR0915 - a project file written top to bottom
    rng: random.Random,
    extra: random.Random,
    *,
    pid: str,
    organisation: str,
    pool: list[tuple[str, str]],
    modules: list[list[str]],
    organisations: list[str],
) -> str:
    slug, topic, unit, dimension = rng.choice(TOPICS)
    start = dt.date(2022, 1, 3) + dt.timedelta(days=rng.randrange(0, 900))
    members = rng.sample(pool, k=min(len(pool), _team_size(rng)))
    n_cycles = _cycles(rng)
    finished = rng.random() < 0.8
    kind = rng.choices(["interprofessional-team", "team", "clinical-microsystem"], [19, 5, 2])[0]
    lines = [
        "# A synthetic improvement project (cipd generate).",
        f"id: {pid}",
        f"title: {_q(f'Improving {topic} ({pid})')}",
        f"aim: {_q(f'Improve {topic} by a third within a year of starting.')}",
        f"start: {start.isoformat()}",
    ]
    cycle_start = start + dt.timedelta(days=14)
    cycles = []
    for n in range(1, n_cycles + 1):
        length = rng.randint(7, 28)
        last_open = n == n_cycles and not finished
        cycles.append(
            (n, cycle_start, None if last_open else cycle_start + dt.timedelta(days=length))
        )
        cycle_start += dt.timedelta(days=length + rng.randint(1, 14))
    end = cycle_start + dt.timedelta(days=30)
    if finished:
        lines.append(f"end: {end.isoformat()}")
    lines += [
        f"organisation: {organisation}",
        "team:",
        f"  id: {pid}-team",
        f"  name: {_q(f'{topic.capitalize()} team {pid}')}",
        f"  kind: {kind}",
        "  members:",
    ]
    for k, (person, profession) in enumerate(members):
        role = "lead" if k == 0 else rng.choices(["member", "improver", "educator"], [20, 2, 1])[0]
        improver = "true" if role in ("lead", "improver") or rng.random() < 0.1 else "false"
        prof = f", profession: {profession}" if rng.random() < 0.96 else ""
        dated = ""
        if extra.random() < 0.35:  # joined on a known day: at the start, or a few weeks in
            joined = start + dt.timedelta(days=extra.choice([0, 0, 0, 14, 30, 45]))
            dated = f", start: {joined.isoformat()}"
            left = end - dt.timedelta(days=extra.randint(10, 60))
            if finished and extra.random() < 0.15 and left >= joined:
                dated += f", end: {left.isoformat()}"
        since = _since(extra, improver == "true")
        if since:
            dated += f", identifies_as_improver_since: {since}"
        lines.append(
            f"    - {{person: {person}{prof}, role: {role}, identifies_as_improver: {improver}{dated}}}"
        )
    dims = sorted(
        set(rng.sample(["safe", "personal", "effective"], k=rng.randint(1, 2))) | {dimension}
    )
    methods = ["pdsa"] + (["model-for-improvement"] if rng.random() < 0.3 else [])
    codesign = rng.random() < 0.3
    if codesign:
        methods.append("experience-based-co-design")
    if extra.random() < 0.12:
        methods.append(extra.choice(["lean", "six-sigma", "clinical-audit"]))
    lines += [f"quality_dimensions: [{', '.join(dims)}]", f"methodologies: [{', '.join(methods)}]"]
    lines.append("measures:")
    for m in range(rng.choices([1, 2, 3], [8, 10, 3])[0]):
        baseline = round(rng.uniform(5, 90), 1)
        lines += [
            f"  - id: {slug}-measure-{m + 1}",
            f"    name: {_q(f'{topic.capitalize()} measure {m + 1}')}",
            f"    dimension: {dimension if m == 0 else rng.choice(['safe', 'personal', 'effective'])}",
            f"    unit: {_q(unit)}",
            f"    baseline: {baseline}",
            f"    target: {round(baseline * rng.uniform(0.5, 1.5), 1)}",
            "    values:",
        ]
        day = start
        for _ in range(rng.randint(2, 8)):
            day += dt.timedelta(days=rng.randint(20, 40))
            lines.append(
                f"      - {{date: {day.isoformat()}, value: {round(baseline * rng.uniform(0.4, 1.4), 1)}}}"
            )
    ideas = [f"change-{k + 1}" for k in range(max(1, min(3, n_cycles // 2 + 1)))]
    lines.append("change_ideas:")
    for idea in ideas:
        lines += [f"  - id: {idea}", f"    description: {_q(f'Test {idea} for {topic}.')}"]
    lines.append("pdsa_cycles:")
    for n, c_start, c_end in cycles:
        lines += [
            f"  - number: {n}",
            f"    change_idea: {rng.choice(ideas)}",
            f"    prediction: {_q(f'Cycle {n} will improve {topic}.')}",
            f"    start: {c_start.isoformat()}",
        ]
        if c_end is not None:
            lines.append(f"    end: {c_end.isoformat()}")
            stages = ["plan", "do", "study", "act"]
        else:
            stages = ["plan", "do"]
        for stage in stages:
            if extra.random() < 0.4:  # who took part in the stage
                took_part = extra.sample(members, k=min(len(members), extra.randint(1, 4)))
                lines.append(
                    f"    {stage}: {{notes: {_q(STAGE_NOTES[stage])}, "
                    f"participants: [{', '.join(p for p, _ in took_part)}]}}"
                )
            else:
                lines.append(f"    {stage}: {_q(STAGE_NOTES[stage])}")
        if extra.random() < (0.4 if codesign else 0.15):  # patients or carers took part
            lines.append("    involvement:")
            groups = extra.sample(["patients", "carers"], k=extra.choice([1, 1, 2]))
            for group in sorted(groups):
                how = extra.choice(["sharing-experience", "sharing-experience", "co-designing"])
                if group == "patients" and extra.random() < 0.15:
                    how = "co-delivering"
                lines.append(
                    f"      - {{group: {group}, kind: {how}, count: {extra.randint(1, 8)}}}"
                )
    numbers = [c[0] for c in cycles]
    activities = []
    lines.append("learning_activities:")
    n_activities = rng.choices([0, 1, 2, 3, 4], [1, 6, 13, 6, 2])[0]
    for a in range(n_activities):
        aid = f"activity-{a + 1}"
        activities.append(aid)
        participants = rng.sample(members, k=min(len(members), rng.randint(2, 5)))
        professions = {p for _, p in participants}
        # Drawn as before (so the rest of the file is unchanged); the declaration follows
        # the CAIPE definition instead, in :func:`_declared`.
        _ = len(professions) >= 2 and rng.random() < 0.85
        modes = sorted(set(rng.sample(["with", "from", "about"], k=rng.randint(1, 3))))
        lines += [
            f"  - id: {aid}",
            f"    title: {_q(f'Learning session {a + 1} on {topic}')}",
            f"    kind: {_weighted(rng, ACTIVITY_KINDS)[0]}",
            f"    date: {(start + dt.timedelta(days=rng.randint(10, 200))).isoformat()}",
            f"    modes: [{', '.join(modes)}]",
            f"    at_work: {'true' if rng.random() < 0.8 else 'false'}",
        ]
        declared = _declared(extra, professions, modes)
        if declared is not None:
            lines.append(f"    interprofessional: {declared}")
        lines.append(f"    participants: [{', '.join(p for p, _ in participants)}]")
        if rng.random() < 0.25:
            lines.append(f"    module: {rng.choice(modules)[0]}")
        if rng.random() < 0.6:
            lines.append(f"    cycle: {rng.choice(numbers)}")
        if extra.random() < 0.4:  # held for the project's team
            lines.append(f"    team: {pid}-team")
    if not activities:
        lines[-1] = "learning_activities: []"
    lines.append("reflections:")
    n_reflections = rng.choices([0, 1, 2, 3, 4], [1, 1, 9, 10, 5])[0]
    for r in range(n_reflections):
        by = rng.choice(members)[0]
        mode = rng.choice(["in", "on"])
        if extra.random() < 0.1:
            mode = "through"
        lines += [
            f"  - id: reflection-{r + 1}",
            f"    mode: {mode}",
            f"    by: {by}",
            f"    date: {(start + dt.timedelta(days=rng.randint(15, 300))).isoformat()}",
        ]
        if activities and rng.random() < 0.3:
            lines.append(f"    activity: {rng.choice(activities)}")
        else:
            lines.append(f"    cycle: {rng.choice(numbers)}")
        lines.append(f"    text: {_q(f'What we learned about {topic} changed how we worked.')}")
    if not n_reflections:
        lines[-1] = "reflections: []"
    if codesign:
        lines += [
            "co_design:",
            f"  - id: {slug}-codesign",
            f"    title: {_q(f'Patients and carers retell their experience of {topic}')}",
            f"    date: {(start + dt.timedelta(days=rng.randint(20, 120))).isoformat()}",
            "    touch_points: [arrival, waiting, going home]",
            f"    co_designers: {{patients: {rng.randint(1, 6)}, carers: {rng.randint(0, 3)}}}",
        ]
    partners = rng.sample(
        [o for o in organisations if o != organisation], k=rng.choices([0, 1, 2], [5, 10, 6])[0]
    )
    if partners:
        lines.append("partners:")
        lines += [f"  - organisation: {p}" for p in partners]
    claims = sorted(set(_weighted(rng, CLAIMS, k=rng.randint(2, 6))))
    lines.append(f"claims: [{', '.join(claims)}]")
    lines.append(f"addresses: [{', '.join(sorted(rng.sample(ADDRESSES, k=rng.randint(1, 3))))}]")
    return "\n".join(lines) + "\n"
