"""Command line: ``python -m sinc_pipeline run|check|demo|instalar-captura``."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from sinc_pipeline.core.errors import ConfigError, SincError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sinc_pipeline",
                                description="sinc_pipeline: sincronismo entre a origem e as lojas.")
    sub = p.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="executa um job (uma execução por loja)")
    run.add_argument("job")
    run.add_argument("--store", help="id da loja (padrão: todas, uma execução por loja)")
    run.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                     help="opção do launchpad, ex.: --set modo=completa")
    run.add_argument("--json", action="store_true", help="imprime as contagens por ativo em JSON")
    run.add_argument("--executor", action="store_true",
                     help="enviar_dados/receber_dados no executor do job (tick.executor: processos ou workers "
                          "Celery) em vez de neste processo")
    run.add_argument("--config", help="arquivo de configuração (padrão: $SINC_CONFIG ou data/sinc.yaml)")
    chk = sub.add_parser("check", help="valida um arquivo de configuração")
    chk.add_argument("path", nargs="?")
    chk.add_argument("--databases", action="store_true",
                     help="também conecta à origem e às lojas e confere os esquemas reais (nada é gravado)")
    cap = sub.add_parser("instalar-captura", help="instala (ou remove) a captura de alterações das tabelas em modo "
                                                  "journal (o mesmo que o job instalar_captura)")
    cap.add_argument("--remover", action="store_true", help="remove os gatilhos em vez de instalá-los")
    cap.add_argument("--config", help="arquivo de configuração (padrão: $SINC_CONFIG ou data/sinc.yaml)")
    demo = sub.add_parser("demo", help="gera a demonstração em data/demo e roda forcar_atualizacao")
    demo.add_argument("--folder", default="data/demo")
    demo.add_argument("--config", default="data/sinc.yaml")
    return p


# Exit codes, for scripts and cron wrappers (also in the README).
EXIT_OK = 0
EXIT_RUN_FAILED = 1        # a run failed, or the configuration is invalid (every problem printed)
EXIT_REFUSED = 2           # nothing ran: bad arguments, unknown job or store, database refused
EXIT_CHECK_FAILED = 3      # every run succeeded but a check of severity ERROR failed


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.cmd == "check":
            return cmd_check(args.path, args.databases)
        if args.cmd == "run":
            return cmd_run(args)
        if args.cmd == "demo":
            return cmd_demo(args)
        if args.cmd == "instalar-captura":
            return cmd_install_capture(args)
    except SincError as err:
        if getattr(args, "json", False):
            print(json.dumps({"erro": err.to_dict()}, ensure_ascii=False, indent=2, default=str))
        print(str(err) if isinstance(err, ConfigError) else f"Erro: {err}", file=sys.stderr)
        return EXIT_RUN_FAILED if isinstance(err, ConfigError) else EXIT_REFUSED
    return EXIT_OK


def cmd_check(path: str | None, databases: bool = False) -> int:
    """The config's rules; with ``databases`` the real schemas too: 1 when one is incompatible,
    2 when a database cannot be reached (``cli/dbcheck.py``)."""
    from sinc_pipeline.settings import load_settings
    s = load_settings(path)
    print(f"Configuração válida: {len(s.stores)} loja(s) ({', '.join(x.id for x in s.stores)}), "
          f"{len(s.tables)} tabela(s) ({sum(t.direction == 'send' for t in s.tables)} envio, "
          f"{sum(t.direction == 'receive' for t in s.tables)} recebimento); "
          f"enviar a cada {s.intervals.send_minutes} min, receber a cada {s.intervals.receive_minutes} min.")
    if not databases:
        return EXIT_OK
    from sinc_pipeline.cli.dbcheck import check_databases, print_report
    report = check_databases(s)
    print_report(report, s, sys.stdout, sys.stderr)
    if report.unreachable:
        return EXIT_REFUSED
    return EXIT_RUN_FAILED if report.errors else EXIT_OK


def _print_summary(summary) -> None:
    state = "OK" if summary.success else "FALHOU"
    print(f"[{state}] {summary.job} loja={summary.store} run_id={summary.run_id}")
    for asset, md in summary.assets.items():
        counts = summary.syncs.get(asset)
        if counts is not None:
            print(f"    {asset:<32} inseridas={counts.inserted:<7} atualizadas={counts.updated:<7} "
                  f"excluidas={counts.deleted:<7} comparadas={counts.compared}")
        else:
            scalars = [f"{k}={v}" for k, v in md.items()
                       if isinstance(v, int | float | str) and len(str(v)) <= 60][:5]
            print(f"    {asset:<32} {' '.join(scalars)}")
    failed = [k for k, v in summary.checks.items() if not v["passou"]]
    if failed:
        print(f"    verificações com falha: {', '.join(failed)}")
    if summary.error:
        print(f"    erro: {summary.error}")


def cmd_run(args) -> int:
    from sinc_pipeline.settings import load_settings
    from sinc_pipeline.defs import build_defs
    from sinc_pipeline.cli.instance import get_instance
    from sinc_pipeline.cli.run import job_is_partitioned, parse_sets, run_stores

    settings = load_settings(args.config)
    defs = build_defs(settings)
    instance = get_instance(settings.dagster_home)
    executor = getattr(args, "executor", False)
    if executor and args.config:   # the run's other processes load the job from $SINC_CONFIG
        os.environ["SINC_CONFIG"] = str(Path(args.config).resolve())
    partitioned = job_is_partitioned(defs, args.job)
    if not partitioned:
        stores = [None]
    elif args.store:
        stores = [settings.store(args.store).id]
    else:
        stores = [s.id for s in settings.stores]
    sets = parse_sets(args.sets)
    summaries = run_stores(defs, args.job, stores, sets, instance, executor=executor)
    if args.json:
        single = args.store or not partitioned
        out = summaries[0].as_dict() if single else {"execucoes": [s.as_dict() for s in summaries]}
        print(json.dumps(out, ensure_ascii=False, indent=2, default=str))
    else:
        for s in summaries:
            _print_summary(s)
    return exit_code(summaries)


def exit_code(summaries) -> int:
    """1 when a run failed; else 3 when a check of severity ERROR failed (named on stderr); else 0."""
    if not all(s.success for s in summaries):
        return EXIT_RUN_FAILED
    failed = [f"{s.store or '-'} {name}" for s in summaries for name in s.failed_checks]
    if failed:
        print(f"Verificação(ões) com severidade ERROR falharam: {', '.join(failed)}", file=sys.stderr)
        return EXIT_CHECK_FAILED
    return EXIT_OK


def cmd_install_capture(args) -> int:
    from sinc_pipeline.capture.install import install_capture
    from sinc_pipeline.settings import load_settings

    for r in install_capture(load_settings(args.config), remove=args.remover):
        print(f"{r.banco}: {r.tabela} — {r.acao}")
    return EXIT_OK


def _demo_capture(cfg: Path) -> None:
    """The demo's sales tables and its two-way ``clientes`` are in journal mode: install their
    capture triggers (idempotent, what the job ``instalar_captura`` does) so the first sync finds them."""
    from sinc_pipeline.capture.install import install_capture
    from sinc_pipeline.core.db import redact
    from sinc_pipeline.settings import load_settings

    settings = load_settings(str(cfg))
    if any(t.capture == "journal" for t in settings.tables):
        done = [r for r in install_capture(settings) if r.acao == "gatilhos instalados"]
        at_origin = sum(1 for r in done if r.banco == redact(settings.origin.url))
        print(f"Captura de alterações (modo journal) instalada em {len(done) - at_origin} tabela(s) das lojas "
              f"e {at_origin} da origem.")


def _demo_conflicts(args, cfg: Path) -> int:
    """The two-way story (``demo/scenario.py``): customers edited at HQ and at the stores, a
    second ``forcar_atualizacao``, and the conflicts it recorded (``conflitos_sincronizacao``)."""
    from sinc_pipeline.demo.scenario import conflict_lines, edit_customers
    from sinc_pipeline.settings import load_settings

    settings = load_settings(str(cfg))
    if not any(t.direction == "both" for t in settings.tables):
        return EXIT_OK
    print("\nClientes editados na matriz e nas lojas entre duas sincronizações (tabela bidirecional):")
    for line in edit_customers(settings):
        print(f"  - {line}")
    code = cmd_run(args)
    args.job, job = "relatorio_conflitos", args.job     # the asset conflitos_sincronizacao, for the UI
    cmd_run(args)
    args.job = job
    print("Conflitos registrados (tabela conflitos_sincronizacao na origem):")
    for line in conflict_lines(settings) or ["nenhum"]:
        print(f"  {line}")
    return code


def cmd_demo(args) -> int:
    from sinc_pipeline.demo.generate import build_demo, config_text

    folder, cfg = Path(args.folder), Path(args.config)
    fresh = not (folder / "origem.db").exists()
    if fresh:
        print(f"Gerando bancos de demonstração em {folder}/ …")
        demo = build_demo(folder)
        if not cfg.exists():
            cfg.parent.mkdir(parents=True, exist_ok=True)
            cfg.write_text(config_text(demo), encoding="utf-8")
            print(f"Configuração escrita em {cfg}")
    elif not cfg.exists():
        raise SincError(f"{cfg} não existe, mas {folder}/origem.db sim. Dica: apague {folder}/ e rode de novo.")
    _demo_capture(cfg)
    args.job, args.store, args.sets, args.json, args.config = "forcar_atualizacao", None, [], False, str(cfg)
    code = cmd_run(args)
    if fresh and code == EXIT_OK:
        code = _demo_conflicts(args, cfg)
    args.job = "relatorio_saude"      # the health report once, so the UI shows saude_lojas from the start
    cmd_run(args)
    print("\nAbra a interface: make ui  (ou: DAGSTER_HOME=$PWD/data/dagster .venv/bin/dagster dev -w workspace.yaml)")
    return code
