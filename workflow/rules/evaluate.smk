rule evaluate:
    input:
        out_of_date("evaluate"),
        split=made_by(pattern(SPLIT), "evaluate"),
        model=made_by(pattern(MODEL), "evaluate"),
    output:
        metrics=pattern(METRICS),
        prov=pattern(METRICS, PROV),
    log:
        f"logs/{{study}}/evaluate/{SETTING}/{{method}}/seed{{seed}}.log",
    # As soon as its checkpoint exists: a session that ends mid-study leaves evaluated runs,
    # whose metrics git keeps, rather than checkpoints that go with the machine.
    priority: 10
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "procrustean evaluate --dataset {wildcards.dataset}"
        " --split {input.split} --checkpoint {input.model} --out {output.metrics}"
        " --threads {threads} > {log} 2>&1"
