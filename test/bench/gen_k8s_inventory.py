#!/usr/bin/env python3
"""A large `kubectl get ... -o json` List for benchmarks: N pods (copies of the seed scenario's
pod with their own names, namespaces, nodes, service accounts, images, container ids and IPs)
and N/40 services selecting them.
usage: gen_k8s_inventory.py N > file   (deterministic; reads test/data/seed/k8s-inventory.json)
A List is parsed as one document: above 64 MB load it with correlate.ingest_max_document_size raised."""
import copy, json, os, sys

n = int(sys.argv[1])
here = os.path.dirname(os.path.abspath(__file__))
seed = json.load(open(os.path.join(here, '..', 'data', 'seed', 'k8s-inventory.json')))
pod = next(i for i in seed['items'] if i['kind'] == 'Pod')
svc = next(i for i in seed['items'] if i['kind'] == 'Service')
items = []
for i in range(n):
    p = copy.deepcopy(pod)
    md, spec, st = p['metadata'], p['spec'], p['status']
    md.update(name='pod-%d' % i, namespace='ns-%d' % (i % 200), uid='00000000-0000-4000-8000-%012d' % i,
              labels={'app': 'app-%d' % (i % 500)})
    spec.update(nodeName='node-%d' % (i % 50), serviceAccountName='sa-%d' % (i % 300))
    image = 'registry.example.com/app-%d:1.%d' % (i % 500, i % 7)
    for c in spec['containers']:
        c['image'] = image
    ip = '10.%d.%d.%d' % (1 + i // 65536, (i // 256) % 256, i % 256)
    st.update(podIP=ip, podIPs=[{'ip': ip}], hostIP='172.20.0.%d' % (i % 50))
    for cs in st.get('containerStatuses', []):
        cs.update(containerID='containerd://%064x' % (i + 1), image=image)
    items.append(p)
for j in range(max(1, n // 40)):
    s = copy.deepcopy(svc)
    s['metadata'].update(name='svc-%d' % j, namespace='ns-%d' % (j % 200), uid='10000000-0000-4000-8000-%012d' % j)
    s['spec']['selector'] = {'app': 'app-%d' % j}
    items.append(s)
json.dump({'apiVersion': 'v1', 'kind': 'List', 'items': items}, sys.stdout)
