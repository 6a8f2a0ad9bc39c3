"""The AWX files in docs/awx/ agree with the roles they drive: every survey variable is a documented
role variable of a matching type, with valid choices and the role's default; the registry credential
type injects a cutover_registry the modules accept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ansible_collections.cutover.deploy.plugins.module_utils._registry import pull_argument_spec, registry_errors
from ansible_collections.cutover.deploy.plugins.module_utils._strategy import VALID_STRATEGIES
from tests.helpers import awx_credential_extra_vars

REPO = Path(__file__).resolve().parents[2]
AWX = REPO / 'docs' / 'awx'
SURVEYS = {'survey-deploy.json': 'deploy', 'survey-rollback.json': 'rollback'}
# AWX survey question types -> the role argument types an answer of that type can fill
COMPATIBLE = {'text': {'str', 'raw'}, 'textarea': {'str', 'raw'}, 'password': {'str', 'raw'},
              'integer': {'int', 'float', 'raw'}, 'float': {'float', 'raw'},
              'multiplechoice': {'str', 'raw'}, 'multiselect': {'list'}}
# role variables validated by a module instead of argument-spec choices
MODULE_CHOICES = {'cutover_strategy': [s for s in VALID_STRATEGIES if s]}


def role_options(role):
    spec = yaml.safe_load((REPO / 'roles' / role / 'meta' / 'argument_specs.yml').read_text())
    return spec['argument_specs']['main']['options']


def questions():
    for name, role in SURVEYS.items():
        survey = json.loads((AWX / name).read_text())
        assert survey['name'] and survey['spec'], name
        for q in survey['spec']:
            yield pytest.param(role, q, id='%s:%s' % (name, q['variable']))


@pytest.mark.parametrize('role,question', list(questions()))
def test_survey_question_matches_the_role_variable(role, question):
    options = role_options(role)
    assert question['variable'] in options, 'not a documented variable of role %s' % role
    option = options[question['variable']]
    assert question['type'] in COMPATIBLE, question['type']
    assert option.get('type', 'str') in COMPATIBLE[question['type']], (question['type'], option.get('type'))
    assert question['question_name'] and question['question_description']
    if option.get('required'):
        assert question['required'], 'the role requires it'
    valid = option.get('choices') or MODULE_CHOICES.get(question['variable'])
    if question['type'] in ('multiplechoice', 'multiselect'):
        assert valid, 'a choice question needs a variable with choices'
        assert set(question['choices']) <= set(valid), (question['choices'], valid)
        if option.get('choices'):
            assert set(question['choices']) == set(valid), 'every valid value is offered'
    if 'default' in option and option['default'] is not None:
        default = question['default']
        if question['type'] == 'integer':
            assert default == option['default']
        else:
            assert str(default) == str(option['default'])
    elif not option.get('required'):
        assert question['default'] in ('', None)


def test_registry_credential_type_injects_what_the_modules_accept():
    cred = yaml.safe_load((AWX / 'credential-type-registry.yml').read_text())
    fields = cred['inputs']['fields']
    ids = {f['id'] for f in fields}
    assert ids == set(pull_argument_spec()['registry']['options'])
    assert [f['id'] for f in fields if f.get('secret')] == ['password']
    injected = awx_credential_extra_vars(AWX / 'credential-type-registry.yml', {'username': 'deployer', 'password': 's3cret'})
    registry = injected['cutover_registry']
    assert registry['username'] == 'deployer' and registry['url'] == '' and registry['tls_verify'] == 'True'
    assert registry_errors(registry, 'registry.example.com:5000/team/web:1') == []
    # the role's argument spec documents every injected key
    assert set(registry) == set(role_options('deploy')['cutover_registry']['options'])
