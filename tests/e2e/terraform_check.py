#!/usr/bin/env python3
"""Checks deploy/terraform without an AWS account: every .tf file is parsed with python-hcl2, the
IAM policies, log group and schedules are evaluated for sample variables and compared with what
docs/job.md promises, and checkov's security rules must pass (or be skipped with a reason in the
file). Runs from the `deploy` venv (tests/requirements/deploy.txt).

What it evaluates is the small subset of HCL the module uses in its locals (for expressions over
lists, compact, trimprefix, string templates, var./local. references); an expression outside it
is reported as a failure, so the module cannot move out of what is checked unnoticed.

Usage: terraform_check.py [--terraform DIR] [--no-checkov]
"""

import argparse
import ast
import glob
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import hcl2

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FAILURES: list[str] = []
ACCOUNT = "123456789012"


def check(name: str, ok: bool, detail: str = "") -> None:
    print(f"{'PASS' if ok else 'FAIL'} {name}{'' if ok or not detail else ': ' + detail}",
          flush=True)
    if not ok:
        FAILURES.append(name)


def one(block: Any) -> Any:
    """python-hcl2 wraps every attribute value in a one-element list."""
    return block[0] if isinstance(block, list) and len(block) == 1 else block


def unwrap(text: str) -> str:
    """'${expr}' -> 'expr' for a value that is one whole interpolation."""
    m = re.fullmatch(r"\$\{(.*)\}", text, re.DOTALL)
    return m.group(1) if m else text


def jsonencoded(value: str) -> Any:
    """The argument of a `jsonencode(...)` attribute, as python-hcl2 renders it (a Python
    literal whose leaf strings may still hold interpolations)."""
    inner = unwrap(one(value))
    m = re.fullmatch(r"jsonencode\((.*)\)", inner, re.DOTALL)
    if not m:
        raise ValueError(f"not a jsonencode(...) value: {inner[:120]}")
    return ast.literal_eval(m.group(1))


class Evaluator:
    """Evaluates the module's locals and templates for given variables."""

    def __init__(self, locals_: dict[str, str], variables: dict[str, Any]):
        self.locals = locals_
        self.variables = variables
        self.functions: dict[str, Callable[..., Any]] = {
            "compact": lambda xs: [x for x in xs if x],
            "trimprefix": lambda s, p: s.removeprefix(p),
        }

    def template(self, text: str, scope: dict[str, Any]) -> Any:
        whole = re.fullmatch(r"\$\{((?:[^{}]|\{[^{}]*\})*)\}", text, re.DOTALL)
        if whole:
            return self.expr(whole.group(1), scope)
        return re.sub(r"\$\{([^{}]*)\}", lambda m: str(self.expr(m.group(1), scope)), text)

    def split_args(self, text: str) -> list[str]:
        parts, depth, quote, cur = [], 0, "", ""
        for ch in text:
            if quote:
                quote = "" if ch == quote else quote
            elif ch in "'\"":
                quote = ch
            elif ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth -= 1
            elif ch == "," and depth == 0:
                parts.append(cur)
                cur = ""
                continue
            cur += ch
        if cur.strip():
            parts.append(cur)
        return [p.strip() for p in parts]

    def expr(self, text: str, scope: dict[str, Any]) -> Any:
        text = text.strip()
        m = re.fullmatch(r"\[for (\w+) in (.+?) : (.*)\]", text, re.DOTALL)
        if m:
            name, coll, body = m.groups()
            return [self.expr(body, dict(scope, **{name: item}))
                    for item in self.expr(coll, scope)]
        if text.startswith("[") and text.endswith("]"):
            return [self.expr(a, scope) for a in self.split_args(text[1:-1])]
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
            return self.template(text[1:-1], scope)
        m = re.fullmatch(r"(\w+)\((.*)\)", text, re.DOTALL)
        if m and m.group(1) in self.functions:
            return self.functions[m.group(1)](
                *[self.expr(a, scope) for a in self.split_args(m.group(2))])
        if text.startswith("var."):
            return self.variables[text[4:]]
        if text.startswith("local."):
            return self.template(one(self.locals[text[6:]]), scope)
        if text == "data.aws_caller_identity.current.account_id":
            return ACCOUNT
        if text in scope:
            return scope[text]
        raise ValueError(f"outside the evaluated subset of HCL: {text[:120]}")


def resources(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    out = {}
    for r in doc.get("resource", []):
        for k, named in r.items():
            if k == kind:
                out.update(named)
    return out


def statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    st = policy["Statement"]
    return st if isinstance(st, list) else [st]


def as_list(x: Any) -> list[Any]:
    return x if isinstance(x, list) else [x]


def check_task_policy(doc: dict[str, Any], locals_: dict[str, str]) -> None:
    policy = jsonencoded(resources(doc, "aws_iam_role_policy")["task"]["policy"])
    for staging in ("", "staging-bucket"):
        variables = {"region": "us-west-2", "ssm_edl_username": "/earthdata/user",
                     "ssm_edl_password": "earthdata/password", "output_bucket": "out-bucket",
                     "staging_bucket": staging}
        ev = Evaluator(locals_, variables)
        allowed: dict[str, set[str]] = {}
        conditions: dict[str, Any] = {}
        for s in statements(policy):
            check("task policy: only Allow statements", s.get("Effect") == "Allow", str(s))
            res = as_list(ev.template(s["Resource"], {})) if isinstance(s["Resource"], str) \
                else [ev.template(r, {}) for r in s["Resource"]]
            for a in as_list(s["Action"]):
                allowed.setdefault(a, set()).update(res)
                if "Condition" in s:
                    conditions[a] = json.loads(json.dumps(s["Condition"]).replace(
                        "${var.region}", variables["region"]))
        label = f"task policy (staging bucket {staging or 'unset'})"
        check(f"{label}: no wildcard action", not any("*" in a for a in allowed), str(allowed))
        check(f"{label}: exactly the documented actions", set(allowed) == {
            "ssm:GetParameter", "kms:Decrypt", "s3:PutObject", "s3:GetObject",
            "s3:AbortMultipartUpload"}, str(sorted(allowed)))
        want_ssm = {f"arn:aws:ssm:us-west-2:{ACCOUNT}:parameter/earthdata/user",
                    f"arn:aws:ssm:us-west-2:{ACCOUNT}:parameter/earthdata/password"}
        check(f"{label}: ssm:GetParameter on exactly the two parameters",
              allowed.get("ssm:GetParameter") == want_ssm, str(allowed.get("ssm:GetParameter")))
        buckets = ["out-bucket"] + ([staging] if staging else [])
        want_s3 = {f"arn:aws:s3:::{b}/virtual_collections/*" for b in buckets}
        for a in ("s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"):
            check(f"{label}: {a} under virtual_collections/ of the output buckets only",
                  allowed.get(a) == want_s3, str(allowed.get(a)))
        check(f"{label}: kms:Decrypt only through SSM of the region",
              conditions.get("kms:Decrypt") == {
                  "StringEquals": {"kms:ViaService": "ssm.us-west-2.amazonaws.com"}},
              str(conditions.get("kms:Decrypt")))
        for a, res in allowed.items():
            if "*" in res:
                check(f"{label}: {a} on every resource only under a condition", a in conditions)


def check_roles(doc: dict[str, Any]) -> None:
    roles = resources(doc, "aws_iam_role")
    for name, service in (("task", "ecs-tasks.amazonaws.com"),
                          ("execution", "ecs-tasks.amazonaws.com"),
                          ("scheduler", "scheduler.amazonaws.com")):
        trust = jsonencoded(roles[name]["assume_role_policy"])
        principals = [s.get("Principal") for s in statements(trust)]
        check(f"role {name}: assumed only by {service}",
              principals == [{"Service": service}] and
              all(s.get("Action") == "sts:AssumeRole" for s in statements(trust)),
              str(principals))
    attach = resources(doc, "aws_iam_role_policy_attachment")
    check("execution role: AWS's ECS task execution policy (image pull, logs) and nothing else",
          [one(a["policy_arn"]) for a in attach.values()] ==
          ["arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"] and
          one(attach["execution"]["role"]) == "${aws_iam_role.execution.name}")
    sched = jsonencoded(resources(doc, "aws_iam_role_policy")["scheduler"]["policy"])
    acts = {a: s["Resource"] for s in statements(sched) for a in as_list(s["Action"])}
    check("scheduler role: runs only this task definition and passes only its two roles",
          acts == {"ecs:RunTask": ["${aws_ecs_task_definition.job.arn_without_revision}",
                                   "${aws_ecs_task_definition.job.arn_without_revision}:*"],
                   "iam:PassRole": ["${aws_iam_role.execution.arn}",
                                    "${aws_iam_role.task.arn}"]}, str(acts))


def check_task_and_logs(doc: dict[str, Any]) -> str:
    groups = resources(doc, "aws_cloudwatch_log_group")
    check("log group: exists, named after the module", "job" in groups and
          one(groups["job"]["name"]) == "/ecs/${var.name}", str(groups))
    check("log group: a retention is set",
          "retention_in_days" in groups.get("job", {}))
    task = resources(doc, "aws_ecs_task_definition")["job"]
    (container,) = jsonencoded(task["container_definitions"])
    logs = container.get("logConfiguration", {})
    check("task: the container logs to that log group (awslogs)",
          logs.get("logDriver") == "awslogs" and
          logs.get("options", {}).get("awslogs-group") == "${aws_cloudwatch_log_group.job.name}",
          str(logs))
    check("task: runs as the task role, started by the execution role",
          one(task["task_role_arn"]) == "${aws_iam_role.task.arn}" and
          one(task["execution_role_arn"]) == "${aws_iam_role.execution.arn}")
    env = {e["name"]: e["value"] for e in container.get("environment", [])}
    check("task: the seed's fixed variables from the module's variables", env == {
        "OUTPUT_BUCKET": "${var.output_bucket}", "STAGING_BUCKET": "${var.staging_bucket}",
        "SSM_EDL_USERNAME": "${var.ssm_edl_username}",
        "SSM_EDL_PASSWORD": "${var.ssm_edl_password}", "AWS_REGION": "${var.region}"}, str(env))
    check("task: no secret in the task definition's environment",
          not any(k.endswith(("SECRET_ACCESS_KEY", "PASSWORD", "TOKEN")) and
                  not v.startswith("${var.ssm_") for k, v in env.items()), str(env))
    return container["name"]


def check_schedule(doc: dict[str, Any], container: str) -> None:
    (sched,) = resources(doc, "aws_scheduler_schedule").values()
    check("schedule: one per collection", one(sched["for_each"]) == "${var.collections}")
    target = one(sched["target"])
    check("schedule: runs this task definition on Fargate",
          one(one(target["ecs_parameters"])["task_definition_arn"]) ==
          "${aws_ecs_task_definition.job.arn}" and
          one(one(target["ecs_parameters"])["launch_type"]) == "FARGATE" and
          one(target["role_arn"]) == "${aws_iam_role.scheduler.arn}")
    overrides = jsonencoded(target["input"])["containerOverrides"]
    env = {e["name"]: e["value"] for o in overrides for e in o["environment"]}
    check("schedule: overrides the task's container by its name",
          [o["name"] for o in overrides] == [container], str(overrides))
    check("schedule: runs the append mode", env.get("VZ_JOB_MODE") == "append", str(env))
    check("schedule: the collection and its settings per run", env.get("COLLECTION") ==
          "${each.key}" and env.get("LOADABLE_VARS") == "${each.value.loadable_vars}" and
          env.get("START_DATE") == "${each.value.start_date}" and
          env.get("END_DATE") == "${each.value.end_date}", str(env))


def check_variables(folder: str, texts: dict[str, str], docs: dict[str, Any]) -> None:
    declared = {name for d in docs.values() for v in d.get("variable", []) for name in v}
    used = {m for t in texts.values() for m in re.findall(r"\bvar\.(\w+)", t)}
    check("every var.* used is declared", used <= declared, str(sorted(used - declared)))
    check("every declared variable is used", declared <= used, str(sorted(declared - used)))
    outputs = {name for d in docs.values() for o in d.get("output", []) for name in o}
    check("outputs: the task definition, task role and log group",
          {"task_definition_arn", "task_role_arn", "log_group"} <= outputs, str(outputs))


def check_batch(doc: dict[str, Any], variables: dict[str, Any]) -> None:
    """batch.tf: the scale-out run's compute environment, job definitions, roles and state
    machine (docs/job.md, "Beyond one machine")."""
    locals_ = {k: one(v) for block in doc.get("locals", []) for k, v in block.items()
               if not k.startswith("__")}
    env = one(resources(doc, "aws_batch_compute_environment")["runs"])
    kind = one(one(env["compute_resources"])["type"])
    check("batch: the compute type is a variable (Fargate or EC2 Spot)",
          kind == "${var.batch_compute_type}" and "SPOT" in one(variables["batch_compute_type"][
              "validation"])["condition"][0] and "FARGATE" in one(variables[
                  "batch_compute_type"]["validation"])["condition"][0], str(kind))
    queue = one(resources(doc, "aws_batch_job_queue")["runs"])
    check("batch: the queue runs on the compute environment",
          one(one(queue["compute_environment_order"])["compute_environment"]) ==
          "${aws_batch_compute_environment.runs.arn}")
    jobdef = one(resources(doc, "aws_batch_job_definition")["step"])
    steps = locals_["steps"]
    check("batch: a job definition per step", set(steps) == {"plan", "shard", "merge", "publish"}
          and one(jobdef["for_each"]) == "${local.steps}", str(sorted(steps)))
    retry = one(jobdef["retry_strategy"])
    dyn = one(one(retry["dynamic"])["evaluate_on_exit"])
    conditions = locals_["retry_conditions"]
    check("batch: retry conditions come from the evaluated list",
          one(dyn["for_each"]) == "${local.retry_conditions}")
    by_code = {c["on_exit_code"]: c["action"] for c in conditions if c["on_exit_code"]}
    host = [c for c in conditions if c["on_status_reason"] == "Host EC2*"]
    check("batch: host failures (Spot reclaim, lost instance) are retried",
          len(host) == 1 and host[0]["action"] == "RETRY" and conditions.index(host[0]) == 0,
          str(conditions))
    check("batch: bad configuration (exit 2) and refused credentials (exit 4) are not retried",
          by_code.get("2") == "EXIT" and by_code.get("4") == "EXIT" and
          by_code.get("1") == "RETRY", str(by_code))
    check("batch: anything else is not retried (the last condition catches all and exits)",
          conditions[-1]["on_reason"] == "*" and conditions[-1]["action"] == "EXIT" and
          len(conditions) <= 5, str(conditions[-1]))
    attempts = one(variables["batch_attempts"]["default"])
    check("batch: attempts between 2 and 10", one(retry["attempts"]) == "${var.batch_attempts}"
          and 2 <= attempts <= 10, str(attempts))
    check("batch: every step has a timeout", one(one(jobdef["timeout"])[
        "attempt_duration_seconds"]) == "${each.value.timeout}" and all(
        str(v["timeout"]).startswith("${var.") for v in steps.values()), str(steps))
    timeouts = {k: one(variables[v["timeout"][6:-1]]["default"]) for k, v in steps.items()}
    check("batch: a shard attempt ends within the one-hour credential",
          0 < timeouts["shard"] <= 3600 and all(0 < t <= 86400 for t in timeouts.values()),
          str(timeouts))
    props = jsonencoded(jobdef["container_properties"])
    env_names = {e["name"]: e["value"] for e in props["environment"]}
    check("batch: each definition runs `vzgen job` in its step's mode",
          props["command"] == ["job"] and env_names.get("VZ_JOB_MODE") == "${each.key}",
          str(props["command"]))
    size = one(variables["max_array_size"]["default"])
    cond = one(one(variables["max_array_size"]["validation"])["condition"])
    check("batch: array size at most 10,000 (default and validation)",
          size <= 10000 and "<= 10000" in cond, f"{size} {cond}")
    # IAM: the steps only under runs/, publish reads runs/ and writes virtual_collections/.
    bucket = "out-bucket"
    arn = f"arn:aws:s3:::{bucket}"
    runs = locals_["runs_prefix_arn"].replace("${var.output_bucket}", bucket)
    check("batch: the run prefix is runs/ of the output bucket", runs == f"{arn}/runs/*", runs)
    policies = resources(doc, "aws_iam_role_policy")
    steps_policy = statements(jsonencoded(one(policies["steps"])["policy"]))
    check("batch: the steps' role may only read and write the run prefix",
          [(sorted(as_list(st["Action"])), as_list(st["Resource"])) for st in steps_policy] ==
          [(["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
            ["${local.runs_prefix_arn}"])], str(steps_policy))
    pub = statements(jsonencoded(one(policies["publish"])["policy"]))
    check("batch: publish reads the run prefix and writes only the published prefixes",
          sorted((tuple(sorted(as_list(st["Action"]))), tuple(as_list(st["Resource"])))
                 for st in pub) ==
          [(("s3:GetObject",), ("${local.runs_prefix_arn}",)),
           (("s3:GetObject", "s3:PutObject"), ("${local.out_prefixes}",))], str(pub))
    machine = statements(jsonencoded(one(policies["run_machine"])["policy"]))
    stars = [st for st in machine if "*" in as_list(st["Resource"])]
    check("batch: the state machine's only unscoped action is batch:DescribeJobs",
          [as_list(st["Action"]) for st in stars] == [["batch:DescribeJobs"]], str(stars))
    for role, service in (("batch_service", "batch.amazonaws.com"),
                          ("steps", "ecs-tasks.amazonaws.com"),
                          ("publish", "ecs-tasks.amazonaws.com"),
                          ("run_machine", "states.amazonaws.com"),
                          ("run_scheduler", "scheduler.amazonaws.com")):
        trust = statements(jsonencoded(one(resources(doc, "aws_iam_role")[role])[
            "assume_role_policy"]))
        check(f"batch: role {role} is assumed only by {service}",
              [st["Principal"] for st in trust] == [{"Service": service}], str(trust))
    # The state machine: valid, plan -> shards -> merge (waiting for the whole array) -> publish.
    sm = locals_["state_machine"]
    states = sm["States"]
    nexts = {name: st.get("Next") for name, st in states.items()}
    for name, st in states.items():
        for c in st.get("Choices", []):
            nexts.setdefault(f"{name}/choice", c["Next"])
    check("state machine: StartAt and every Next name a state",
          sm["StartAt"] in states and all(n in states for n in nexts.values() if n) and all(
              c["Next"] in states for st in states.values() for c in st.get("Choices", [])),
          str(nexts))
    check("state machine: every state ends, fails or goes on",
          all(st.get("End") or st.get("Next") or st["Type"] in ("Fail", "Choice")
              for st in states.values()))
    reach, todo = set(), [sm["StartAt"]]
    while todo:
        name = todo.pop()
        if name in reach:
            continue
        reach.add(name)
        st = states[name]
        todo += [st["Next"]] if st.get("Next") else []
        todo += [c["Next"] for c in st.get("Choices", [])] + ([st["Default"]]
                                                              if st.get("Default") else [])
    check("state machine: every state is reachable", reach == set(states),
          str(set(states) - reach))
    sync = "${local.submit}"
    check("state machine: every Batch step waits for its job (submitJob.sync)",
          locals_["submit"] == "arn:aws:states:::batch:submitJob.sync" and all(
              st["Resource"] == sync for n, st in states.items()
              if n in ("Plan", "Shards", "OneShard", "Merge", "Publish")))
    check("state machine: merge runs after the array (and the single shard), publish after merge",
          states["Shards"]["Next"] == "Merge" and states["OneShard"]["Next"] == "Merge" and
          states["Merge"]["Next"] == "Publish" and states["Publish"].get("End") is True and
          states["Plan"]["Next"] == "ReadPlan")
    check("state machine: the array is sized from the plan",
          states["Shards"]["Parameters"]["ArrayProperties"] == {
              "Size.$": "$.latest.plan.shards"} and states["ReadPlan"]["Parameters"][
              "Key.$"] == "States.Format('runs/{}/latest.json', $.collection)")
    choice = {c.get("NumericGreaterThan", c.get("NumericEquals")): c["Next"]
              for c in states["HowManyShards"]["Choices"]}
    check("state machine: more shards than max_array_size fail, one shard is one job",
          choice == {"${var.max_array_size}": "TooManyShards", 1: "OneShard"} and
          states["HowManyShards"]["Default"] == "Shards", str(choice))
    one_env = {e["Name"]: e.get("Value") for e in jsonencoded_list(
        states["OneShard"]["Parameters"]["ContainerOverrides"]["Environment"])}
    check("state machine: the single shard gets index 0",
          one_env.get("VZ_SHARD_INDEX_ENV") == "VZ_SHARD_INDEX" and
          one_env.get("VZ_SHARD_INDEX") == "0", str(one_env))
    sched = one(resources(doc, "aws_scheduler_schedule")["run"])
    check("batch: one nightly schedule per collection starts the state machine",
          one(sched["for_each"]) == "${var.batch_collections}" and
          one(one(sched["target"])["arn"]) == "${aws_sfn_state_machine.run.arn}")


def jsonencoded_list(value: Any) -> list[Any]:
    """A list written as concat(local.x, [...]) or as a plain list."""
    if isinstance(value, list):
        return value
    m = re.fullmatch(r"\$\{concat\(local\.run_environment,\s*(\[.*\])\)\}", value, re.DOTALL)
    if not m:
        raise ValueError(f"unexpected list: {value[:120]}")
    return ast.literal_eval(m.group(1).replace("null", "None"))


def run_checkov(folder: str) -> None:
    exe = os.path.join(os.path.dirname(sys.executable), "checkov")
    if not os.path.exists(exe):
        exe = shutil.which("checkov") or ""
    check("checkov is installed in this environment", bool(exe))
    if not exe:
        return
    p = subprocess.run([exe, "-d", folder, "--framework", "terraform", "-o", "json",
                        "--skip-download"], check=False, capture_output=True, text=True, timeout=300)
    try:
        report = json.loads(p.stdout)
    except json.JSONDecodeError:
        check("checkov ran", False, (p.stdout + p.stderr)[-600:])
        return
    results = report.get("results", {})
    failed = results.get("failed_checks", [])
    skipped = results.get("skipped_checks", [])
    check("checkov: no failed check", not failed and p.returncode == 0,
          "; ".join(f"{c['check_id']} {c['resource']}" for c in failed))
    check("checkov: some checks ran", len(results.get("passed_checks", [])) > 10)
    for c in skipped:
        reason = (c.get("check_result") or {}).get("suppress_comment", "")
        check(f"checkov: {c['check_id']} skipped with a reason", len(reason) > 20, reason)
    print(f"checkov: {len(results.get('passed_checks', []))} passed, {len(skipped)} skipped")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--terraform", default=os.path.join(ROOT, "deploy", "terraform"))
    ap.add_argument("--no-checkov", action="store_true")
    args = ap.parse_args()
    files = sorted(glob.glob(os.path.join(args.terraform, "*.tf")))
    check("there are .tf files", len(files) >= 3, str(files))
    texts, docs = {}, {}
    for f in files:
        with open(f) as fh:
            texts[f] = fh.read()
        try:
            docs[f] = hcl2.loads(texts[f])
            check(f"{os.path.basename(f)} parses", True)
        except Exception as e:  # noqa: BLE001 (python-hcl2 raises lark's own exception types)
            check(f"{os.path.basename(f)} parses", False, str(e)[:300])
    main_doc = docs.get(os.path.join(args.terraform, "main.tf"), {})
    variables = {name: v for d in docs.values() for block in d.get("variable", [])
                 for name, v in block.items()}
    locals_ = {k: v for block in main_doc.get("locals", []) for k, v in block.items()
               if not k.startswith("__")}
    for step in (lambda: check_task_policy(main_doc, locals_), lambda: check_roles(main_doc),
                 lambda: check_schedule(main_doc, check_task_and_logs(main_doc)),
                 lambda: check_variables(args.terraform, texts, docs),
                 lambda: check_batch(docs.get(os.path.join(args.terraform, "batch.tf"), {}),
                                     variables)):
        try:
            step()
        except (KeyError, ValueError, TypeError, SyntaxError) as e:
            check("the module has the shape these checks read", False, f"{type(e).__name__}: {e}")
    if not args.no_checkov:
        run_checkov(args.terraform)
    print(f"{len(FAILURES)} failed" if FAILURES else "the Terraform module grants what docs/job.md says")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
