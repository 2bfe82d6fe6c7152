import CairnCLI

CairnMain.run()
