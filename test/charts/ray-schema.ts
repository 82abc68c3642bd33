// Why: KubeRay's RayCluster and RayJob have no kubernetes-models package, so the chart tests check them
// against a schema of the fields helm/ml-platform sets, written from KubeRay's API types
// (ray-operator/apis/ray/v1/raycluster_types.go and rayjob_types.go: headGroupSpec with rayStartParams and
// template required, worker groups with groupName/min/max/rayStartParams/template, RayJob's
// entrypoint/submissionMode/shutdownAfterJobFinishes/ttlSecondsAfterFinished/rayClusterSpec), strict about
// unknown fields at every level the chart writes; and every pod template in them against Kubernetes'
// own PodTemplateSpec schema (kubernetes-models). Cross-checked once against KubeRay's generated CRDs
// (ray-operator/config/crd/bases/ray.io_ray{clusters,jobs}.yaml): every render of the chart validates.
import { Ajv } from 'ajv';
import { PodTemplateSpec } from 'kubernetes-models/v1';

const stringMap = { type: 'object', additionalProperties: { type: 'string' } };
const podTemplate = { type: 'object', required: ['spec'] };
const headGroupSpec = {
  type: 'object',
  required: ['rayStartParams', 'template'],
  additionalProperties: false,
  properties: { rayStartParams: stringMap, template: podTemplate, serviceType: { enum: ['ClusterIP', 'NodePort', 'LoadBalancer'] }, enableIngress: { type: 'boolean' } },
};
const workerGroupSpec = {
  type: 'object',
  required: ['groupName', 'minReplicas', 'maxReplicas', 'rayStartParams', 'template'],
  additionalProperties: false,
  properties: {
    groupName: { type: 'string', minLength: 1 },
    replicas: { type: 'integer', minimum: 0 },
    minReplicas: { type: 'integer', minimum: 0 },
    maxReplicas: { type: 'integer', minimum: 0 },
    numOfHosts: { type: 'integer', minimum: 1 },
    rayStartParams: stringMap,
    template: podTemplate,
  },
};
const rayClusterSpec = {
  type: 'object',
  required: ['headGroupSpec'],
  additionalProperties: false,
  properties: {
    rayVersion: { type: 'string' },
    enableInTreeAutoscaling: { type: 'boolean' },
    headGroupSpec,
    workerGroupSpecs: { type: 'array', items: workerGroupSpec },
  },
};
const metadata = { type: 'object', required: ['name'], properties: { name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' } } };
const object = (kind: string, spec: object) => ({
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  additionalProperties: false,
  properties: { apiVersion: { const: 'ray.io/v1' }, kind: { const: kind }, metadata, spec },
});
const rayJobSpec = {
  type: 'object',
  additionalProperties: false,
  properties: {
    entrypoint: { type: 'string', minLength: 1 },
    submissionMode: { enum: ['K8sJobMode', 'HTTPMode', 'InteractiveMode'] },
    shutdownAfterJobFinishes: { type: 'boolean' },
    ttlSecondsAfterFinished: { type: 'integer', minimum: 0 },
    runtimeEnvYAML: { type: 'string' },
    rayClusterSpec,
    clusterSelector: stringMap,
  },
  oneOf: [{ required: ['rayClusterSpec'] }, { required: ['clusterSelector'] }],
};

const ajv = new Ajv({ allErrors: true });
const validators = { RayCluster: ajv.compile(object('RayCluster', rayClusterSpec)), RayJob: ajv.compile(object('RayJob', rayJobSpec)) };

type Ray = { kind: string; metadata: { name: string }; spec?: any };
/** The pod templates of a RayCluster spec (head, then each worker group). */
export function rayPodTemplates(spec: any): { group: string; template: any }[] {
  return [{ group: 'head', template: spec.headGroupSpec.template }, ...(spec.workerGroupSpecs ?? []).map((g: any) => ({ group: g.groupName, template: g.template }))];
}

/** The complaint about a RayCluster or RayJob, or undefined when it is valid. */
export function rayProblem(obj: Ray): string | undefined {
  const validate = validators[obj.kind as keyof typeof validators];
  if (validate === undefined) return `${obj.kind} ray.io/v1: no schema`;
  const name = `${obj.kind}/${obj.metadata.name}`;
  if (!validate(obj as unknown)) return `${name}: ${ajv.errorsText(validate.errors)}`;
  const clusterSpec = obj.kind === 'RayCluster' ? obj.spec : obj.spec.rayClusterSpec;
  for (const { group, template } of clusterSpec === undefined ? [] : rayPodTemplates(clusterSpec)) {
    try {
      new PodTemplateSpec(template).validate();
    } catch (err) {
      return `${name} ${group} template: ${(err as Error).message}`;
    }
  }
  return undefined;
}
