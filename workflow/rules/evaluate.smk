rule evaluate:
    input:
        out_of_date("evaluate"),
        split=made_by(f"data/splits/{{study}}/{SETTING}.json"),
        model=made_by(f"runs/{{study}}/{SETTING}/{{method}}/seed{{seed}}/model.pt"),
    output:
        metrics=f"results/{{study}}/metrics/{SETTING}/{{method}}/seed{{seed}}.json",
        prov=f"results/{{study}}/metrics/{SETTING}/{{method}}/seed{{seed}}.json.prov.json",
    log:
        f"logs/{{study}}/evaluate/{SETTING}/{{method}}/seed{{seed}}.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "procrustean evaluate --dataset {wildcards.dataset}"
        " --split {input.split} --checkpoint {input.model} --out {output.metrics}"
        " --threads {threads} > {log} 2>&1"
