//! The cluster's admission policy and the release workflow name the same image and the same
//! signer, so a cluster enforcing the policy admits exactly what the release signed: the image
//! the production overlay deploys, signed keyless by `release.yml` on `main`. A fork that
//! changes one of them and not the others would refuse its own releases, or admit anyone's.
//! (The policy's schema is checked in the template's harness against Kyverno's.)

use crate::manifests::field;
use crate::read;

#[test]
fn the_cluster_admits_only_images_the_release_workflow_signed() {
    let policy = read("deploy/kubernetes/policies/verify-image-signature.yaml");
    let overlay = read("deploy/kubernetes/overlays/production/kustomization.yaml");
    let release = read(".github/workflows/release.yml");

    assert_eq!(field(&policy, "", "apiVersion"), "kyverno.io/v1");
    assert_eq!(field(&policy, "", "kind"), "ClusterPolicy");
    // Audit would only report: an unsigned image would still run.
    assert_eq!(field(&policy, "", "failureAction"), "Enforce");
    for promise in ["mutateDigest: true", "verifyDigest: true", "required: true"] {
        assert!(policy.contains(promise), "the policy lacks {promise}");
    }

    // Every image in the namespace, not only the service's: an image of any other name would
    // otherwise start unchecked.
    assert!(
        policy.contains("imageReferences: [\"*\"]"),
        "the policy checks every image"
    );

    // ghcr.io/<owner>/<repository>: what the overlay deploys and release.yml pushes, in lower
    // case (registry paths are); the certificate names the repository as GitHub writes it.
    let image = field(&overlay, "", "newName");
    let repository = image
        .strip_prefix("ghcr.io/")
        .expect("production deploys the image release.yml pushes to ghcr.io");
    assert!(release.contains("run: echo \"image=ghcr.io/${GITHUB_REPOSITORY,,}\""));
    let signer =
        format!("https://github.com/{repository}/.github/workflows/release.yml@refs/heads/main");
    assert!(
        field(&policy, "", "subject").eq_ignore_ascii_case(&signer),
        "the signer is release.yml of the repository production deploys from ({signer}), on the \
         branch it runs on"
    );
    assert_eq!(
        field(&policy, "", "issuer"),
        "https://token.actions.githubusercontent.com"
    );
    assert!(release.contains("    branches: [main]"));
    // Kyverno's `type: Cosign` (the default) reads the `.sig` tag, the format release.yml asks for.
    assert!(!policy.contains("SigstoreBundle"));
    assert!(release.contains("cosign sign --yes --new-bundle-format=false"));

    // The production namespace is the one the overlay deploys into.
    let namespace = field(&overlay, "", "namespace");
    assert!(
        policy.contains(&format!("namespaces: [{namespace}]")),
        "the policy guards the namespace production deploys into ({namespace})"
    );
}
